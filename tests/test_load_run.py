"""The release gate for real: short Locust runs against the local stack, as subprocesses.

Locust's gevent monkeypatches the process that imports it, so every run here is
``python -m slsops.load.run`` in a child process, bounded in time. One run passes the ``local``
profile and one fails the ``impossible`` profile; the signer is checked against botocore and the
orchestration's usage errors without a stack.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

import pytest
from botocore.credentials import Credentials
from stack_outputs import stack_outputs

from slsops.deployment.stack import Stack
from slsops.errors import UsageError
from slsops.load import run as load_run
from slsops.load import scenarios
from slsops.load.locust_command import locust_command, scenario_classes
from slsops.load.profile import load_profile
from slsops.load.run_shape import locust_seconds, run_seconds, shape_from
from slsops.load.target_stack import check_loopback

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "loadtests"))

from signing import (  # noqa: E402  (loadtests/ is not a package)
    RequestSigner,
    assume_role_fetcher,
    query_string,
    role_credentials,
)

RUN_TIMEOUT_S = 150


def gate(
    stack: Path | str, results: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 (our own module, fixed arguments)
        [
            sys.executable,
            "-m",
            "slsops.load.run",
            "--stack",
            str(stack),
            "--results",
            str(results),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
        cwd=ROOT,
        env=env,
    )


def verdict_of(results: Path) -> dict:
    return json.loads((results / "verdict.json").read_text(encoding="utf-8"))


@pytest.mark.stack
def test_a_short_run_passes_the_local_profile(local_stack: Stack, tmp_path: Path) -> None:
    # One task per user per second (the profile: one per 5 s), so that in 10 s the on-call
    # users poll the newest entries too: every gated target is measured.
    done = gate(
        local_stack.path,
        tmp_path,
        *("--profile", "local", "--run-time", "10s", "--warmup", "10", "--task-rate", "1"),
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    body = verdict_of(tmp_path)
    assert body["command"] == "load" and body["target"]["kind"] == "local"
    assert body["summary"]["fail"] == 0 and body["summary"]["error"] == 0
    ids = {c["id"] for c in body["checks"]}
    assert {"LOAD-ERROR-RATIO", "LOAD-INGEST-RATE", "LOAD-READ-RATE"} <= ids
    assert {"LOAD-INGEST-SINGLE-P50", "LOAD-READ-NEWEST-P99"} <= ids
    assert body["load"]["left_out"] == []
    # Not gated by the local profile: reported, not checks.
    reported = {r["id"] for r in body["load"]["reported"]}
    assert {"LOAD-BURST", "LOAD-INGEST-SINGLE-P95"} <= reported and not reported & ids
    measured = body["load"]["measurements"]
    # Signed with the assumed roles, accepted by the emulator, answers right: no failure.
    assert measured["total_failures"] == 0 and measured["total_requests"] > 10
    # Batches count their entries: more entries stored than ingest requests made.
    ingest_requests = sum(
        k["requests"] for name, k in measured["kinds"].items() if name.startswith("ingest")
    )
    assert measured["entries_stored"] > ingest_requests
    assert "Load verdict, profile 'local': PASS" in done.stdout
    assert "Percentile resolution" in done.stdout
    for name in ("locust_stats.csv", "locust_failures.csv", "report.html"):
        assert (tmp_path / name).stat().st_size > 0, name


@pytest.mark.stack
def test_an_impossible_profile_fails_the_run(local_stack: Stack, tmp_path: Path) -> None:
    done = gate(local_stack.path, tmp_path, "--profile", "impossible", "--run-time", "8s")
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    checks = {c["id"]: c for c in verdict_of(tmp_path)["checks"]}
    assert checks["LOAD-INGEST-RATE"]["status"] == "FAIL"
    assert checks["LOAD-READ-RATE"]["status"] == "FAIL"
    assert checks["LOAD-INGEST-SINGLE-P50"]["status"] == "FAIL"
    assert checks["LOAD-ERROR-RATIO"]["status"] == "PASS"  # slow is not wrong
    assert "BREACH" in done.stdout


def _broken_stack(local_stack: Stack, tmp_path: Path, change: Callable[[dict], None]) -> Path:
    outputs = json.loads(Path(local_stack.path).read_text(encoding="utf-8"))
    change(outputs)
    bad = tmp_path / "bad-stack.json"
    bad.write_text(json.dumps(outputs), encoding="utf-8")
    return bad


def _assert_stopped_before_locust(done: subprocess.CompletedProcess, out: Path, line: str) -> None:
    assert done.returncode == 3, done.stdout[-2000:] + done.stderr[-2000:]
    errors = [text for text in done.stderr.splitlines() if text.startswith("load: error:")]
    assert len(errors) == 1 and line in errors[0], done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert "BREACH" not in done.stdout
    assert not (out / "verdict.json").exists()
    assert not (out / "locust_stats.csv").exists()  # Locust never started


@pytest.mark.stack
@pytest.mark.parametrize("processes", ["0", "2"])
def test_a_wrong_external_id_stops_before_any_load(
    local_stack: Stack, tmp_path: Path, processes: str
) -> None:
    def wrong_external_id(outputs: dict) -> None:
        outputs["roles"]["value"]["read"]["external_id"] = "not-the-external-id"

    bad = _broken_stack(local_stack, tmp_path, wrong_external_id)
    out = tmp_path / "out"
    done = gate(bad, out, "--profile", "local", "--run-time", "5s", "--processes", processes)
    _assert_stopped_before_locust(done, out, "cannot assume the read role")
    assert "not-the-external-id" not in done.stderr + done.stdout


@pytest.mark.stack
def test_no_credentials_stop_before_any_load(local_stack: Stack, tmp_path: Path) -> None:
    bad = _broken_stack(local_stack, tmp_path, lambda outputs: outputs.pop("local_credentials"))
    out = tmp_path / "out"
    no_credentials = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    done = gate(bad, out, "--profile", "local", "--processes", "2", env=no_credentials)
    _assert_stopped_before_locust(done, out, "no AWS credentials")


@pytest.mark.stack
def test_an_unreachable_api_stops_before_any_load(local_stack: Stack, tmp_path: Path) -> None:
    def closed_port(outputs: dict) -> None:
        outputs["api_url"]["value"] = "http://127.0.0.1:1/prod"

    bad = _broken_stack(local_stack, tmp_path, closed_port)
    out = tmp_path / "out"
    done = gate(bad, out, "--profile", "local", "--processes", "2")
    _assert_stopped_before_locust(done, out, "cannot reach the API at http://127.0.0.1:1/prod")


@pytest.mark.stack
@pytest.mark.breaks("LOAD-INGEST-RATE")
def test_a_narrowed_run_names_and_fails_the_targets_it_leaves_out(
    local_stack: Stack, tmp_path: Path
) -> None:
    done = gate(
        local_stack.path,
        tmp_path,
        *("--profile", "local", "--tags", "read", "--users", "2", "--run-time", "3s"),
        *("--warmup", "0", "--task-rate", "1"),
    )
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    left = ["LOAD-INGEST-SINGLE-P50", "LOAD-INGEST-SINGLE-P99", "LOAD-INGEST-BATCH-P50"]
    left += ["LOAD-INGEST-BATCH-P99", "LOAD-INGEST-RATE"]
    announced = [line for line in done.stderr.splitlines() if "left out" in line]
    assert announced and all(cid in announced[0] for cid in left), done.stderr[-3000:]
    assert "--tags read" in announced[0]
    body = verdict_of(tmp_path)
    assert sorted(body["load"]["left_out"]) == sorted(left)
    assert body["load"]["narrowed_by"] == "--tags read"
    checks = {c["id"]: c for c in body["checks"]}
    assert checks["LOAD-INGEST-RATE"]["status"] == "FAIL"
    assert "--tags read leaves it out" in checks["LOAD-INGEST-RATE"]["detail"]
    assert "NOT MEASURED" in done.stdout


# ------------------------------------------------------------------ no stack needed
CREDENTIALS = Credentials("ASIAEXAMPLEKEY", "example/secret/key", "example-session-token")
FIXED = datetime(2026, 3, 1, 12, 30, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("POST", "http://127.0.0.1:4567/prod/logs", b'{"service_name":"a","message":"m"}'),
        ("POST", "https://abc.execute-api.eu-west-1.amazonaws.com/prod/logs", b"{}"),
        (
            "GET",
            "http://127.0.0.1:4567/prod/logs/recent?"
            + query_string(
                {
                    "service_name": "loadtest-api/v2",
                    "level": "ERROR,WARN",
                    "since": "2026-03-01T12:00:00.000Z",
                    "limit": 50,
                    "next_token": "eyJrIjogMX0=+/",
                }
            ),
            None,
        ),
    ],
)
def test_the_signer_matches_botocore_byte_for_byte(method: str, url: str, body: bytes) -> None:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    lean = RequestSigner(lambda role: CREDENTIALS, "eu-west-1", clock=lambda: FIXED)
    reference = RequestSigner(lambda role: CREDENTIALS, "eu-west-1", "botocore")
    with mock.patch("botocore.auth.get_current_datetime", return_value=FIXED.replace(tzinfo=None)):
        expected = reference.headers(method, url, body, headers)
    assert lean.headers(method, url, body, headers) == expected
    assert expected["X-Amz-Security-Token"] == "example-session-token"


def test_the_signer_uses_the_role_of_the_method() -> None:
    asked: list[str] = []

    def credentials(role: str) -> Credentials:
        asked.append(role)
        return CREDENTIALS

    signer = RequestSigner(credentials, "us-east-1")
    signer.headers("POST", "http://127.0.0.1:1/prod/logs", b"{}")
    signer.headers("GET", "http://127.0.0.1:1/prod/logs/recent?limit=1", None)
    assert asked == ["ingest", "read"]


def test_each_request_is_signed_anew() -> None:
    times = iter([FIXED, FIXED.replace(minute=31)])
    signer = RequestSigner(lambda role: CREDENTIALS, "us-east-1", clock=lambda: next(times))
    first = signer.headers("POST", "http://127.0.0.1:1/prod/logs", b"{}")
    second = signer.headers("POST", "http://127.0.0.1:1/prod/logs", b"{}")
    assert first["X-Amz-Date"] != second["X-Amz-Date"]
    assert first["Authorization"] != second["Authorization"]


def test_roles_are_assumed_with_their_external_id() -> None:
    class FakeSts:
        def __init__(self) -> None:
            self.calls: list[dict] = []

        def assume_role(self, **kwargs: object) -> dict:
            self.calls.append(kwargs)
            expiry = datetime.now(UTC) + timedelta(hours=1)
            return {
                "Credentials": {
                    "AccessKeyId": "AK",
                    "SecretAccessKey": "SK",
                    "SessionToken": "TOK",
                    "Expiration": expiry,
                }
            }

    sts = FakeSts()
    fetch = assume_role_fetcher(sts, "arn:aws:iam::1:role/ingest", "ext-123", "load-1")
    assert fetch()["token"] == "TOK"
    assert sts.calls == [
        {
            "RoleArn": "arn:aws:iam::1:role/ingest",
            "RoleSessionName": "load-1",
            "ExternalId": "ext-123",
            "DurationSeconds": 3600,
        }
    ]


def test_role_credentials_are_refreshed_before_they_expire() -> None:
    calls: list[int] = []

    def fetch() -> dict[str, str]:
        calls.append(1)
        minutes = 5 if len(calls) == 1 else 60  # the first set expires in 5 minutes
        expiry = datetime.now(UTC) + timedelta(minutes=minutes)
        return {
            "access_key": f"AK{len(calls)}",
            "secret_key": "s",
            "token": "t",
            "expiry_time": expiry.isoformat(),
        }

    credentials = role_credentials(fetch)
    # 5 minutes left is inside botocore's mandatory refresh window: re-assumed before use.
    assert credentials.get_frozen_credentials().access_key == "AK2"
    assert credentials.get_frozen_credentials().access_key == "AK2"
    assert len(calls) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--run-time", "soon"], "is not like 45s"),
        (["--profile", "staging"], "no profile 'staging'"),
        (["--users", "0"], "--users must be >= 1"),
        (["--batch-size", "101"], "--batch-size must be 1..100"),
        (["--warmup", "-1"], "--warmup must be >= 0"),
        # NaN passed every `<= 0` check, then ended in a ValueError traceback
        (["--spawn-rate", "nan"], "must be finite"),
        (["--warmup", "nan"], "must be finite"),
        (["--task-rate", "inf"], "must be finite"),
        (["--classes", "SingleIngestUser,GhostUser"], "unknown user class GhostUser"),
        (["--bogus"], "unrecognized arguments"),
    ],
)
def test_bad_arguments_are_usage_errors(args: list[str], message: str, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=message):
        load_run.run_load(["--stack", str(tmp_path / "none.json"), *args])


def test_results_in_a_file_and_a_targets_file_not_utf8_are_usage_errors(tmp_path: Path) -> None:
    """Both ended in a traceback (FileExistsError/NotADirectoryError, UnicodeDecodeError)."""
    taken = tmp_path / "taken"
    taken.write_text("a file")
    for results in (taken, taken / "sub"):
        with pytest.raises(UsageError, match="--results"):
            load_run.run_load(["--stack", str(tmp_path / "none.json"), "--results", str(results)])
    targets = tmp_path / "targets.toml"
    targets.write_bytes(b"[profiles.local]\nname = '\xff'\n")
    with pytest.raises(UsageError, match="not UTF-8"):
        load_run.run_load(["--stack", str(tmp_path / "none.json"), "--targets", str(targets)])


def test_a_local_stack_off_loopback_is_refused(tmp_path: Path) -> None:
    outputs = stack_outputs(
        api_url="http://10.1.2.3:4567/prod", local_endpoint_url="http://127.0.0.1:4566"
    )
    path = tmp_path / "stack.json"
    path.write_text(json.dumps(outputs), encoding="utf-8")
    with pytest.raises(UsageError, match="not on loopback"):
        check_loopback(path)


def test_the_command_line_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    done = subprocess.run(  # noqa: S603  our own CLI, argv list
        [
            sys.executable,
            "-m",
            "slsops.load.run",
            "--run-time",
            "soon",
            "--stack",
            str(tmp_path / "x.json"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "load: error:" in done.stderr


def test_locust_runs_ramp_up_and_warm_up_before_the_measured_time() -> None:
    args = load_run.parse_args(
        ["--users", "20", "--spawn-rate", "4", "--run-time", "1m", "--warmup", "15"]
    )
    shape = shape_from(args, {"task_rate": 2})
    assert locust_seconds(shape) == 5 + 15 + 60
    command = locust_command(args, shape, Path("s.json"), "http://127.0.0.1:1/prod")
    assert command[command.index("--run-time") + 1] == "80s"
    assert command[command.index("--warmup") + 1] == "15"
    assert "--reset-stats" not in command
    assert command[command.index("--exit-code-on-error") + 1] == "0"
    no_warmup = shape_from(load_run.parse_args(["--warmup", "0"]), {})
    assert "--reset-stats" in locust_command(args, no_warmup, Path("s"), "http://x")


@pytest.mark.parametrize(
    ("classes", "tags", "kinds"),
    [
        ((), (), {"ingest_single", "ingest_batch", "read_newest", "read_service"}),
        ((), ("read",), {"read_newest", "read_service"}),
        ((), ("ingest",), {"ingest_single", "ingest_batch"}),
        (("SingleIngestUser",), (), {"ingest_single"}),
        (("OnCallUser",), (), {"ingest_single", "ingest_batch", "read_newest", "read_service"}),
        (("OnCallUser",), ("read",), set()),
        (("SingleIngestUser", "NewestReadUser"), ("newest",), {"read_newest"}),
    ],
)
def test_the_request_kinds_of_a_selection_are_read_from_the_locustfile(
    classes: tuple, tags: tuple, kinds: set
) -> None:
    found = scenarios.user_classes(ROOT / "loadtests" / "locustfile.py")
    assert scenarios.kinds_made(found, classes, tags) == kinds


def test_a_narrowed_selection_is_announced_before_the_run(capsys: pytest.CaptureFixture) -> None:
    args = load_run.parse_args(["--profile", "aws", "--tags", "read"])
    profile = load_profile(args.targets, "aws")
    shape = shape_from(args, profile.run)
    assert load_run.announce_left_out(args, shape, profile) == "--tags read"
    line = capsys.readouterr().err
    assert "--tags read" in line and "left out" in line
    for check_id in ("LOAD-INGEST-RATE", "LOAD-INGEST-SINGLE-P50", "LOAD-INGEST-BATCH-P99"):
        assert check_id in line
    assert "LOAD-READ-RATE" not in line
    command = locust_command(args, shape, Path("s.json"), "http://x", "--tags read")
    assert command[command.index("--gate-narrowed-by") + 1] == "--tags read"


def test_the_profiles_own_scenarios_are_not_narrowed(capsys: pytest.CaptureFixture) -> None:
    args = load_run.parse_args(["--profile", "local"])
    profile = load_profile(args.targets, "local")
    assert load_run.announce_left_out(args, shape_from(args, profile.run), profile) == ""
    assert "left out" not in capsys.readouterr().err


def test_a_selection_that_makes_no_request_is_a_usage_error() -> None:
    args = load_run.parse_args(["--classes", "OnCallUser", "--tags", "read"])
    profile = load_profile(args.targets, "local")
    with pytest.raises(UsageError, match="makes no request"):
        load_run.announce_left_out(args, shape_from(args, profile.run), profile)


def test_the_scenario_classes_are_found_without_importing_locust() -> None:
    found = scenario_classes(ROOT / "loadtests" / "locustfile.py")
    assert found == {
        "SingleIngestUser",
        "BatchIngestUser",
        "NewestReadUser",
        "ServiceReadUser",
        "OnCallUser",
    }


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("45s", 45), ("5m", 300), ("1h30m", 5400), ("1h2m3s", 3723)]
)
def test_run_time_syntax(text: str, seconds: int) -> None:
    assert run_seconds(text) == seconds


def _verdict_file(tmp_path: Path, statuses: list[str]) -> Path:
    checks = [
        {
            "id": f"LOAD-X-{i}",
            "title": "t",
            "status": status,
            "severity": "high",
            "detail": "d",
            "remediation": "r",
        }
        for i, status in enumerate(statuses)
    ]
    summary = {s.lower(): statuses.count(s) for s in ("PASS", "FAIL", "WARN", "SKIP", "ERROR")}
    body = {
        "command": "load",
        "target": {"kind": "local"},
        "started_at": "2026-01-01T00:00:00+00:00",
        "duration_s": 1.0,
        "summary": summary,
        "checks": checks,
    }
    path = tmp_path / "verdict.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    return path


def test_the_exit_code_is_the_verdicts_and_a_verdict_without_checks_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from slsops.commands.common import ReportFilters

    assert (
        load_run._final_code(0, _verdict_file(tmp_path, ["PASS", "PASS"]), 1.0, ReportFilters())
        == 0
    )
    assert (
        load_run._final_code(1, _verdict_file(tmp_path, ["PASS", "FAIL"]), 1.0, ReportFilters())
        == 1
    )
    # Locust said 0 but the verdict FAILs: the verdict's.
    assert load_run._final_code(0, _verdict_file(tmp_path, ["FAIL"]), 1.0, ReportFilters()) == 1
    # A verdict that judged nothing (no check, or only SKIPs) is no PASS.
    for statuses in ([], ["SKIP"]):
        path = _verdict_file(tmp_path, statuses)
        assert load_run._final_code(0, path, 1.0, ReportFilters()) == 1, statuses
        assert "judged nothing" in capsys.readouterr().err
    # Not a verdict: one line, exit 1, no traceback.
    (tmp_path / "verdict.json").write_text("[]", encoding="utf-8")
    assert load_run._final_code(0, tmp_path / "verdict.json", 1.0, ReportFilters()) == 1
    assert "not a verdict" in capsys.readouterr().err


@pytest.mark.parametrize("text", ["\u00b2", "1\u00b2", "", "5 minutes"])
def test_a_bad_run_time_is_a_usage_error(text: str) -> None:
    """str.isdigit() is true of "\u00b2", which int() refuses: a ValueError, not exit 2."""
    with pytest.raises(UsageError, match="--run-time"):
        run_seconds(text)
