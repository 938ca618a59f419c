"""``slsops local status|down|seed`` and ``doctor``: each error exits with its documented code.

Exit codes (INTERFACES.md): 0 fine, 1 failed, 2 usage or stack-file error, 3 preflight
(unreachable, no credentials), 130 Ctrl-C. Each case runs the real CLI in a subprocess.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

CLI = (sys.executable, "-m", "slsops.cli")


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own CLI
        [*CLI, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines, "no error line on stderr"
    return lines[-1]


@pytest.fixture
def malformed_stack(tmp_path: Path) -> Path:
    path = tmp_path / "stack.json"
    path.write_text("{not json")
    return path


@pytest.fixture
def aws_stack(tmp_path: Path) -> Path:
    """A well-formed stack file of an AWS deployment (no local outputs)."""
    from stack_outputs import write_stack

    return write_stack(tmp_path / "aws.json")


@pytest.mark.parametrize("command", [("local", "status"), ("local", "down"), ("doctor",)])
def test_a_malformed_stack_file_is_exit_2(command, malformed_stack):
    done = run(*command, "--stack", str(malformed_stack))
    assert done.returncode == 2, done.stdout + done.stderr
    one_line_error(done)
    assert malformed_stack.exists(), "a malformed stack file must not be deleted"


@pytest.mark.parametrize("command", [("local", "status"), ("local", "down")])
def test_a_stack_on_aws_is_refused_by_local_commands(command, aws_stack):
    done = run(*command, "--stack", str(aws_stack))
    assert done.returncode == 2
    assert "not a local stack" in one_line_error(done)


def _up_in_process(monkeypatch, *args: str) -> tuple[int, str, list[str]]:
    """``slsops local up`` in this process with the start replaced by a record of it."""
    from typer.testing import CliRunner

    from slsops.cli import app
    from slsops.errors import SlsopsError
    from slsops.local import process, runner

    started: list[str] = []
    monkeypatch.setattr(process, "start_detached", lambda *a, **k: started.append("detached"))
    monkeypatch.setattr(runner, "run_foreground", lambda *a, **k: started.append("foreground"))
    result = CliRunner().invoke(app, ["local", "up", *args])
    if isinstance(result.exception, SlsopsError):
        return result.exception.exit_code, str(result.exception), started
    return result.exit_code, result.output, started


@pytest.mark.parametrize("detach", [(), ("--detach",)])
def test_up_over_an_aws_stack_file_is_exit_2_and_keeps_it(monkeypatch, aws_stack, detach):
    """`local up --stack prod.json` deleted the AWS deployment's stack file (as a stale local
    one) and started a local stack in its place."""
    before = aws_stack.read_text()
    code, message, started = _up_in_process(monkeypatch, "--stack", str(aws_stack), *detach)
    assert code == 2 and "not a local stack" in message
    assert started == []
    assert aws_stack.read_text() == before


def test_up_over_a_file_that_is_not_a_stack_file_is_exit_2_and_keeps_it(
    monkeypatch, malformed_stack
):
    code, message, started = _up_in_process(monkeypatch, "--stack", str(malformed_stack), "-d")
    assert code == 2 and "not readable JSON" in message
    assert started == [] and malformed_stack.read_text() == "{not json"


def _stale_stack(tmp_path: Path, pid: int) -> Path:
    stale = tmp_path / "local.json"
    outputs = {"local_endpoint_url": "http://127.0.0.1:1", "local_pid": pid}
    stale.write_text(json.dumps({k: {"value": v} for k, v in outputs.items()}))
    return stale


def test_up_over_a_stale_local_stack_file_replaces_it(monkeypatch, tmp_path):
    """A local stack file whose process is gone is still removed and the stack started."""
    child = subprocess.Popen(["true"])  # noqa: S607 - a process that is gone
    child.wait()
    stale = _stale_stack(tmp_path, child.pid)
    code, _, started = _up_in_process(monkeypatch, "--stack", str(stale), "-d")
    assert code == 0 and started == ["detached"]
    assert not stale.exists()


def test_a_recorded_pid_of_0_is_no_process(tmp_path):
    """kill(0) signals the caller's own process group: a stack file saying local_pid 0 made
    `up` refuse ("already running") and `down` SIGTERM, then SIGKILL, its own group."""
    from slsops.local import process

    stale = _stale_stack(tmp_path, 0)
    assert process.recorded_pid(stale) is None
    assert process.is_stack_process(0) is False
    with pytest.raises(ValueError):
        process.stop_pid(0)


def test_a_recorded_pid_that_is_not_ascii_digits_is_no_process(tmp_path):
    """str.isdigit() is true of "\u00b2", which int() refuses: local down/status/up ended
    with 'unexpected error' (exit 1) on such a stack file."""
    from slsops.local import process

    assert process.recorded_pid(_stale_stack(tmp_path, "\u00b2")) is None
    assert process.recorded_pid(_stale_stack(tmp_path, "4242")) == 4242


def test_down_with_a_recorded_pid_of_0_removes_the_file_and_signals_nobody(tmp_path):
    stale = _stale_stack(tmp_path, 0)
    done = subprocess.run(  # noqa: S603 - our own CLI; a session of its own contains kill(0)
        [*CLI, "local", "down", "--stack", str(stale)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        start_new_session=True,
    )
    assert done.returncode == 0, (done.returncode, done.stderr)
    assert "was not running" in done.stdout
    assert not stale.exists()


@pytest.mark.parametrize("timeout", ["-5", "0", "nan", "inf", "86401"])
def test_up_with_a_timeout_out_of_range_is_exit_2_before_starting(monkeypatch, tmp_path, timeout):
    """Below a second (`-5` started the stack, then stopped it: exit 1) or above a day (`inf`
    waited for ever)."""
    stack = tmp_path / "local.json"
    code, message, started = _up_in_process(
        monkeypatch, "--stack", str(stack), "-d", "--timeout", timeout
    )
    assert code == 2 and "--timeout" in message
    assert started == []


def test_down_when_already_down_exits_0(tmp_path):
    done = run("local", "down", "--stack", str(tmp_path / "gone.json"))
    assert done.returncode == 0, done.stderr
    assert "nothing to stop" in done.stdout


def test_status_without_a_stack_says_down(tmp_path):
    done = run("local", "status", "--json", "--stack", str(tmp_path / "gone.json"))
    assert done.returncode == 1
    assert json.loads(done.stdout)["state"] == "down"


@pytest.mark.parametrize("state", ["[]", '{"resources": 3}', "\udcff", "null"])
def test_status_with_a_malformed_terraform_state_still_reports(tmp_path, state):
    """A state file holding a list ended status in 'unexpected error: AttributeError'."""
    stack = tmp_path / "local.json"
    stack.write_text(json.dumps({"local_endpoint_url": {"value": "http://127.0.0.1:1"}}))
    (tmp_path / "local").mkdir()
    (tmp_path / "local" / "terraform.tfstate").write_bytes(state.encode("utf-8", "surrogateescape"))
    done = run("local", "status", "--json", "--stack", str(stack))
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["state"] == "down" and report["resources"] is None


def test_doctor_with_a_named_missing_stack_file_is_exit_2(tmp_path):
    done = run("doctor", "--stack", str(tmp_path / "gone.json"))
    assert done.returncode == 2
    assert "stack file" in one_line_error(done)


@pytest.mark.stack
def test_seed_with_the_api_down_is_exit_3_and_sends_nothing(local_stack, tmp_path):
    outputs = json.loads(Path(local_stack.path).read_text())
    outputs["api_url"]["value"] = "http://127.0.0.1:1/prod"  # nothing listens on port 1
    broken = tmp_path / "api-down.json"
    broken.write_text(json.dumps(outputs))
    done = run("local", "seed", "--count", "5", "--stack", str(broken))
    assert done.returncode == 3, done.stdout + done.stderr
    assert "unreachable" in one_line_error(done)


@pytest.mark.stack
def test_seed_without_credentials_is_exit_3(local_stack, tmp_path):
    outputs = json.loads(Path(local_stack.path).read_text())
    outputs["local_credentials"]["value"] = {
        "access_key_id": "AKIAUNKNOWNKEY000000",
        "secret_access_key": "not-a-key",
    }
    broken = tmp_path / "no-creds.json"
    broken.write_text(json.dumps(outputs))
    done = run("local", "seed", "--count", "5", "--stack", str(broken))
    assert done.returncode == 3, done.stdout + done.stderr
    one_line_error(done)


@pytest.mark.stack
def test_ctrl_c_stops_seed_with_exit_130(local_stack):
    """SIGINT mid-run: the command stops sending and exits 130 well before it would finish."""
    child = subprocess.Popen(  # noqa: S603 - our own CLI
        [*CLI, "local", "seed", "--count", "20000", "--stack", str(local_stack.path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(4)  # past start-up and the preflight: batches are being sent
        assert child.poll() is None, "seed ended before it could be interrupted"
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 130, out + err
    assert "seeded 20000" not in out
