"""A cached start-up whose replay diverges falls back to a Terraform apply instead of failing.

Apart from ``test_startup_cache.py`` so that pytest-xdist runs its full apply beside that
file's end-to-end start-up. The recording it tampers with is the one the session's local
stack replayed or recorded (a copy, in a cache folder of its own), so it costs one apply, not
two.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from startup_support import session_cache_entry, slsops, up, values

from slsops.local import startup_cache
from slsops.local.stack_file import workdir_for


@pytest.mark.stack
@pytest.mark.terraform
@pytest.mark.timeout(900)  # a full apply after a replay that stopped
def test_a_recording_that_no_longer_replays_costs_an_apply_not_a_failed_start_up(
    local_stack, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    env = {**os.environ, startup_cache.DIR_ENV: str(cache)}
    env.pop(startup_cache.NO_CACHE_ENV, None)
    entry = session_cache_entry(local_stack, env, cache)
    requests = (entry / startup_cache.REQUESTS_FILE).read_text().splitlines()
    tampered = json.loads(requests[50])
    tampered["status"] = 418
    requests[50] = json.dumps(tampered)
    (entry / startup_cache.REQUESTS_FILE).write_text("\n".join(requests) + "\n")

    fallback_path = tmp_path / "fallback" / "local.json"
    try:
        fallback = values(up(fallback_path, env))
        log = (workdir_for(fallback_path) / "runner.log").read_text(encoding="utf-8")
        assert f"replaying the cached apply ({len(requests)} requests" in log
        assert "request 51/" in log and "starting again with Terraform" in log
        assert "terraform apply (as the deploy role) done" in log
        assert not entry.exists(), "the entry that diverged was discarded"
        assert fallback["table_name"] == local_stack["table_name"]  # ids differ: unseeded apply
    finally:
        if fallback_path.exists():
            slsops("local", "down", "--stack", str(fallback_path), env=env, timeout=120)
