"""The start-up cache: a recorded apply replays into moto with the same ids, per-run values
replaced, and a stack started from the cache is indistinguishable from one freshly applied.
"""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from startup_support import (
    session_cache_entry,
    slsops,
    up,
    values,
    without_external_ids,
)

from slsops.infra_plan import plan_is_clean
from slsops.local import infra_deploy, startup_cache
from slsops.local.aws_app import serve_in_thread
from slsops.local.stack_file import workdir_for

REGION = "us-east-1"
DUMMY = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
# Values that differ by design between two stacks (ports, process, credentials, external ids).
PER_RUN_OUTPUTS = {
    "api_url",
    "local_endpoint_url",
    "local_api_port",
    "local_pid",
    "local_credentials",
    "local_admin_credentials",
}


@pytest.fixture
def recorder():
    app = startup_cache.RequestRecorder(DomainDispatcherApplication(create_backend_app))
    with serve_in_thread(app) as url:
        yield app, boto3.client("kms", endpoint_url=url, region_name=REGION, **DUMMY), url


def test_a_seeded_replay_recreates_the_same_ids_with_this_runs_values(recorder) -> None:
    app, kms, _url = recorder
    startup_cache.seed_moto()
    app.start()
    try:
        key_id = kms.create_key(Description="recorded-external-id-0001")["KeyMetadata"]["KeyId"]
    finally:
        entries = app.stop()
        startup_cache.unseed_moto()
    assert [e["status"] for e in entries] == [200]
    assert kms.create_key(Description="unseeded")["KeyMetadata"]["KeyId"] != key_id

    startup_cache.seed_moto()
    try:
        replayed = startup_cache.replay(
            app.app, entries, {"recorded-external-id-0001": "this-runs-external-id-02"}
        )
    finally:
        startup_cache.unseed_moto()
    assert replayed == 1
    metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert metadata["Description"] == "this-runs-external-id-02"


def test_draws_outside_a_recorded_request_are_noticed(recorder) -> None:
    from moto.moto_api._internal import mock_random

    app, kms, _url = recorder
    app.start()
    try:
        kms.create_key(Description="drawn inside a recorded request")
        assert app.foreign_draws == []
        mock_random.uuid4()  # as a lookup that creates something would, beside the requests
        assert len(app.foreign_draws) == 1
        assert "test_draws_outside_a_recorded_request_are_noticed" in app.foreign_draws[0]
    finally:
        app.stop()
    assert "getrandbits" not in vars(mock_random)  # unwatched again


def test_aws_managed_keys_exist_before_anything_can_draw_for_them() -> None:
    from moto.kms.models import kms_backends

    with startup_cache.seeded(region="eu-west-3"):
        backend = kms_backends["123456789012"]["eu-west-3"]
        count = len(backend.keys)
        assert backend.get_key_id_from_alias("alias/aws/dynamodb")
        assert len(backend.keys) == count  # not created on first sight any more


def test_sessions_issued_while_seeded_do_not_outlive_the_seed(recorder) -> None:
    from moto.sts.models import sts_backends

    _app, _kms, url = recorder
    iam = boto3.client("iam", endpoint_url=url, region_name=REGION, **DUMMY)
    sts = boto3.client("sts", endpoint_url=url, region_name=REGION, **DUMMY)
    trust = '{"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "*"}]}'
    name = f"startup-cache-session-{os.getpid()}"
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    before = sts.assume_role(RoleArn=arn, RoleSessionName="before")["Credentials"]
    with startup_cache.seeded():
        during = sts.assume_role(RoleArn=arn, RoleSessionName="during")["Credentials"]
    backend = sts_backends["123456789012"]["aws"]
    assert backend.get_assumed_role_from_access_key(during["AccessKeyId"]) is None
    assert backend.get_assumed_role_from_access_key(before["AccessKeyId"]) is not None
    iam.delete_role(RoleName=name)


def test_a_replay_that_gets_another_answer_stops_with_the_request_named(recorder) -> None:
    app, _kms, url = recorder
    iam = boto3.client("iam", endpoint_url=url, region_name=REGION, **DUMMY)
    name = f"startup-cache-{os.getpid()}-{id(app)}"
    app.start()
    try:
        iam.create_user(UserName=name)
    finally:
        entries = app.stop()
    with pytest.raises(startup_cache.ReplayDiverged) as raised:  # the user exists already
        startup_cache.replay(app.app, entries, {})
    assert "request 1/1" in str(raised.value) and "recorded 200" in str(raised.value)


def test_a_request_that_raised_is_recorded_and_a_replay_that_raises_diverges() -> None:
    calls = []

    def failing_app(environ, start_response):
        calls.append(environ["PATH_INFO"])
        raise KeyError("0ndngwxigt")

    recorder = startup_cache.RequestRecorder(failing_app)
    recorder.start()
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/x", "wsgi.input": io.BytesIO(b"")}
    with pytest.raises(KeyError):
        recorder(environ, lambda *args: None)
    entries = recorder.stop()
    assert [e["status"] for e in entries] == [startup_cache.RAISED]
    assert startup_cache.replay(failing_app, entries, {}) == 1  # raised then, raises now

    def answering_app(environ, start_response):
        start_response("200 OK", [])
        return [b"{}"]

    with pytest.raises(startup_cache.ReplayDiverged):
        startup_cache.replay(answering_app, entries, {})
    entries[0]["status"] = 200
    with pytest.raises(startup_cache.ReplayDiverged) as raised:
        startup_cache.replay(failing_app, entries, {})
    assert "KeyError" in str(raised.value)


def _prepared_dir(tmp_path: Path, external_id: str, table_name: str = "logs") -> Path:
    tf_dir = tmp_path / "work" / "infra"
    tf_dir.mkdir(parents=True)
    (tf_dir / "main.tf").write_text(f'resource "x" "y" {{ name = "{table_name}" }}\n')
    (tf_dir / "local.auto.tfvars.json").write_text(
        json.dumps({"external_ids": {"ingest": external_id}})
    )
    (tf_dir / "local_provider_override.tf").write_text(f"# port {os.getpid()}\n")
    return tf_dir


def test_the_key_ignores_per_run_values_and_follows_the_configuration(tmp_path: Path) -> None:
    one = startup_cache.cache_key(
        _prepared_dir(tmp_path / "1", "id-aaaa"), {"ingest": "id-aaaa"}, {}
    )
    two = startup_cache.cache_key(
        _prepared_dir(tmp_path / "2", "id-bbbb"), {"ingest": "id-bbbb"}, {}
    )
    assert one == two
    other = _prepared_dir(tmp_path / "3", "id-aaaa", table_name="logs2")
    assert startup_cache.cache_key(other, {"ingest": "id-aaaa"}, {}) != one
    zipped = _prepared_dir(tmp_path / "4", "id-aaaa")
    assert startup_cache.cache_key(zipped, {"ingest": "id-aaaa"}, {"zip": "0" * 64}) != one


def test_the_key_follows_the_files_infra_reads_and_nothing_else_beside_it(tmp_path: Path) -> None:
    tf_dir = _prepared_dir(tmp_path, "id-aaaa")
    (tf_dir / "api.tf").write_text('locals { doc = file("../service/openapi.json") }\n')
    (tmp_path / "work" / "service").mkdir()
    document = tmp_path / "work" / "service" / "openapi.json"
    document.write_text("{}")
    (tmp_path / "work" / "build").mkdir()
    before = startup_cache.cache_key(tf_dir, {"ingest": "id-aaaa"}, {})
    (tmp_path / "work" / "build" / "results.json").write_text("a result of another run")
    (tmp_path / "work" / "service" / "notes.md").write_text("not read by infra")
    assert startup_cache.cache_key(tf_dir, {"ingest": "id-aaaa"}, {}) == before
    document.write_text('{"paths": {}}')
    assert startup_cache.cache_key(tf_dir, {"ingest": "id-aaaa"}, {}) != before


def test_the_cache_is_private_and_restores_this_runs_external_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(startup_cache.DIR_ENV, str(tmp_path / "cache"))
    state = tmp_path / "terraform.tfstate"
    state.write_text('{"trust": "slsops-local-ingest-aaaa"}')
    folder = startup_cache.save(
        "k1",
        [{"method": "GET", "path": "/", "query": "", "headers": [], "body": "", "status": 200}],
        state,
        {"roles": {"value": {"ingest": {"external_id": "slsops-local-ingest-aaaa"}}}},
        {"ingest": "slsops-local-ingest-aaaa"},
        "AKIAOLDADMIN00000001",
    )
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "cache").stat().st_mode) == 0o700
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    cached = startup_cache.load("k1")
    assert cached is not None
    subs = cached.substitutions({"ingest": "slsops-local-ingest-bbbb"}, "AKIANEWADMIN00000002")
    restored = tmp_path / "restored.tfstate"
    startup_cache.restore_state(cached, restored, subs)
    assert "slsops-local-ingest-bbbb" in restored.read_text()
    assert "aaaa" not in restored.read_text()
    assert stat.S_IMODE(restored.stat().st_mode) == 0o600
    outputs = startup_cache.restored_outputs(cached, subs)
    assert outputs["roles"]["value"]["ingest"]["external_id"] == "slsops-local-ingest-bbbb"
    assert startup_cache.load("missing") is None


def _save(key: str, state: Path, admin_key_id: str) -> Path:
    entry = {"method": "GET", "path": "/", "query": "", "headers": [], "body": "", "status": 200}
    return startup_cache.save(key, [entry], state, {}, {}, admin_key_id)


def test_a_second_recording_of_a_key_keeps_the_first_entry_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two start-ups (parallel test workers) recording one key: the first entry stays, the
    second neither fails nor swaps its files in under a reader of the first."""
    monkeypatch.setenv(startup_cache.DIR_ENV, str(tmp_path / "cache"))
    state = tmp_path / "terraform.tfstate"
    state.write_text("{}")
    first = _save("k1", state, "AKIAFIRSTADMIN000001")
    reading = os.open(first, os.O_RDONLY | os.O_DIRECTORY)  # a reader holding the first entry
    try:
        inode = os.fstat(reading).st_ino
        assert _save("k1", state, "AKIASECONDADMIN00002") == first
        assert first.stat().st_ino == inode, "the first entry was replaced"
    finally:
        os.close(reading)
    cached = startup_cache.load("k1")
    assert cached is not None and cached.meta["admin_key_id"] == "AKIAFIRSTADMIN000001"
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["k1"]  # no staging left
    (first / startup_cache.REQUESTS_FILE).unlink()  # damaged: the next recording replaces it
    assert startup_cache.load("k1") is None
    _save("k1", state, "AKIATHIRDADMIN000003")
    cached = startup_cache.load("k1")
    assert cached is not None and cached.meta["admin_key_id"] == "AKIATHIRDADMIN000003"
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["k1"]


HOLD_KEY_LOCK = """
import sys, time
from pathlib import Path
from slsops.local import startup_cache

with startup_cache.key_lock(sys.argv[1]):
    Path(sys.argv[2]).write_text("held")
    time.sleep(float(sys.argv[3]))
"""


def test_a_key_being_recorded_elsewhere_is_waited_for(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(startup_cache.DIR_ENV, str(tmp_path / "cache"))
    held = tmp_path / "held"
    holder = subprocess.Popen(  # noqa: S603 - our own script
        [sys.executable, "-c", HOLD_KEY_LOCK, "k1", str(held), "1.5"],
        env={**os.environ, startup_cache.DIR_ENV: str(tmp_path / "cache")},
    )
    try:
        for _ in range(300):
            if held.exists():
                break
            time.sleep(0.05)
        waited: list[str] = []
        began = time.monotonic()
        with startup_cache.key_lock("k1", on_wait=lambda: waited.append("k1")):
            held_for = time.monotonic() - began
        assert waited == ["k1"] and held_for > 1.0, "taken while the holder held it (1.5 s)"
        with startup_cache.key_lock("k2", on_wait=lambda: waited.append("k2")):
            pass  # another key, or the same key once free: no wait
        with startup_cache.key_lock("k1", on_wait=lambda: waited.append("again")):
            pass
        assert waited == ["k1"]
    finally:
        holder.kill()
        holder.wait()


def test_a_start_up_that_waited_replays_what_the_other_recorded(monkeypatch) -> None:
    """The entry is looked up again under the lock: found there, it is replayed, not applied."""
    entry = object()
    lookups = iter([None, entry])
    monkeypatch.setattr(infra_deploy.startup_cache, "load", lambda key: next(lookups))
    monkeypatch.setattr(infra_deploy.startup_cache, "cache_key", lambda *a: "k")
    monkeypatch.setattr(infra_deploy, "sha256_of", lambda path: "zip")
    monkeypatch.setattr(infra_deploy, "tf_versions", lambda path: "tf")
    monkeypatch.setattr(infra_deploy, "_record", lambda *a: pytest.fail("applied again"))
    monkeypatch.setattr(infra_deploy, "_replay", lambda key, cached, *a: ("replayed", cached))
    answer = infra_deploy.deploy_infra(
        Path("tf"), SimpleNamespace(external_ids={}), Path("zip"), None,
        moto_url="u", region="r", workdir=Path("w"), recorder=None, phases=None, use_cache=True,
    )  # fmt: skip
    assert answer == ("replayed", entry)


def test_a_load_never_mixes_two_recordings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """An entry removed and stored anew while it is read: the reader gets None, not the meta
    of one recording with the requests of the other."""
    monkeypatch.setenv(startup_cache.DIR_ENV, str(tmp_path / "cache"))
    state = tmp_path / "terraform.tfstate"
    state.write_text("{}")
    _save("k1", state, "AKIAFIRSTADMIN000001")
    real_open = os.open
    swapped = []

    def open_then_swap(path, flags, *args, **kwargs):
        handle = real_open(path, flags, *args, **kwargs)
        if str(path) == startup_cache.META_FILE and not swapped:  # between meta and requests
            swapped.append(True)
            startup_cache.discard("k1")
            _save("k1", state, "AKIASECONDADMIN00002")
        return handle

    monkeypatch.setattr(os, "open", open_then_swap)
    assert startup_cache.load("k1") is None
    assert swapped
    monkeypatch.setattr(os, "open", real_open)
    cached = startup_cache.load("k1")
    assert cached is not None and cached.meta["admin_key_id"] == "AKIASECONDADMIN00002"


@pytest.mark.parametrize(("value", "off"), [("", False), ("0", False), ("1", True), ("yes", True)])
def test_the_environment_turns_the_cache_off(
    monkeypatch: pytest.MonkeyPatch, value: str, off: bool
) -> None:
    monkeypatch.setenv(startup_cache.NO_CACHE_ENV, value)
    assert startup_cache.disabled() is off


# ------------------------------------------------------------------ a fresh and a cached stack
@pytest.mark.stack
@pytest.mark.terraform
@pytest.mark.timeout(600)  # a replay, a plan and verify
def test_a_stack_from_the_cache_is_indistinguishable_from_a_fresh_apply(
    local_stack, tmp_path: Path
) -> None:
    """A replay of the session's entry (what a fresh apply recorded; the session stack is that
    apply or a replay of it) against the session stack, then plan and verify on the replay."""
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    env = {**os.environ, startup_cache.DIR_ENV: str(cache)}
    env.pop(startup_cache.NO_CACHE_ENV, None)
    session_cache_entry(local_stack, env, cache)
    fresh = values(json.loads(local_stack.path.read_text(encoding="utf-8")))
    cached_path = tmp_path / "cached" / "local.json"
    try:
        cached = values(up(cached_path, env))
        log = (workdir_for(cached_path) / "runner.log").read_text(encoding="utf-8")
        assert "replaying the cached apply" in log and "terraform apply" not in log

        # (a) the same ids and ARNs; per-run values differ, external ids included
        same = sorted(set(fresh) - PER_RUN_OUTPUTS - {"roles"})
        assert {n: fresh[n] for n in same} == {n: cached[n] for n in same}
        assert set(fresh) == set(cached)
        assert without_external_ids(fresh["roles"]) == without_external_ids(cached["roles"])
        for role in fresh["roles"]:
            assert fresh["roles"][role]["external_id"] != cached["roles"][role]["external_id"]
        assert fresh["local_credentials"] != cached["local_credentials"]

        # (b) Terraform, as the deploy role, sees nothing to change
        clean, summary = plan_is_clean(workdir_for(cached_path) / "infra")
        assert clean, summary

        # (c) every check of slsops verify passes on it
        verify = slsops("verify", "--stack", str(cached_path), env=env, timeout=300)
        assert verify.returncode == 0, verify.stdout[-3000:] + verify.stderr[-1000:]

    finally:
        if cached_path.exists():
            slsops("local", "down", "--stack", str(cached_path), env=env, timeout=120)
