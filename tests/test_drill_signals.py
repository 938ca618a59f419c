"""A real signal to a real drill process at each phase: cleanup, evidence, exit 130 or 143.

Apart from ``test_drill.py`` (same fixtures, from ``drill_support``) so that pytest-xdist runs
these eighteen processes beside the rest of the drill tests.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from drill_support import GUARD, drill_tables, invoke, moto_endpoint, seeded_source

from slsops.drill import cleanup as drill_cleanup


@pytest.fixture(scope="module")
def endpoint():
    yield from moto_endpoint()


@pytest.fixture()
def source(endpoint, tmp_path, monkeypatch):
    return seeded_source(endpoint, tmp_path, monkeypatch)


SIGNAL_PHASES = [
    "point",
    "canaries",
    "await-point",
    "source-scan",
    "restore",
    "restore-call",
    "wait",
    "validate",
    "settings",
]


@pytest.mark.parametrize("phase", SIGNAL_PHASES)
@pytest.mark.parametrize(
    ("signum", "exit_code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["int", "term"]
)
def test_a_signal_at_each_phase_leaves_nothing(
    endpoint, source, tmp_path, phase, signum, exit_code
):
    """A real signal to a real process: cleanup, evidence with verdict aborted, 130 or 143."""
    name, stack = source
    ready, evidence_path = tmp_path / "ready", tmp_path / "evidence.json"
    child = subprocess.Popen(  # noqa: S603 - our own test child, fixed arguments
        [
            sys.executable,
            str(Path(__file__).parent / "drill_signal_child.py"),
            endpoint,
            name,
            phase,
            str(ready),
            "--",
            "drill",
            "--stack",
            str(stack),
            "--guard-seconds",
            GUARD,
            "--evidence",
            str(evidence_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "CI": "1"},
    )
    try:
        for _ in range(600):
            if ready.exists() or child.poll() is not None:
                break
            time.sleep(0.1)
        assert ready.exists(), child.communicate(timeout=30)
        child.send_signal(signum)
        _, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == exit_code, err
    evidence = json.loads(evidence_path.read_text())
    assert evidence["verdict"] == "aborted"
    assert evidence["drill"]["aborted_by"] == signal.Signals(signum).name
    if drill_tables(endpoint, name):
        code, out = invoke("drill", "cleanup", "--stack", str(stack))
        assert code == 0, out
    assert drill_tables(endpoint, name) == []
    assert drill_cleanup.DrillRecord.beside(stack).load()["tables"] == {}
