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


def test_down_when_already_down_exits_0(tmp_path):
    done = run("local", "down", "--stack", str(tmp_path / "gone.json"))
    assert done.returncode == 0, done.stderr
    assert "nothing to stop" in done.stdout


def test_status_without_a_stack_says_down(tmp_path):
    done = run("local", "status", "--json", "--stack", str(tmp_path / "gone.json"))
    assert done.returncode == 1
    assert json.loads(done.stdout)["state"] == "down"


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
