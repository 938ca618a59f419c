"""`terraform plan` of infra/ against the local stack's endpoints: it must show no changes.

A local stack applies infra/ once; planning the same configuration again then proves two
things the static checks cannot: every resource applies to the embedded AWS, and a second
plan is clean (no attribute that drifts on refresh, no trigger that redeploys on every run).
Used by `nox -s infra`:

    python -m slsops.infra_plan [--stack build/infra-plan/stack.json]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from slsops import terraform
from slsops.local.stack_file import workdir_for

PLAN_TIMEOUT_S = 300
NO_CHANGES, CHANGES = 0, 2


def _slsops(*args: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603  our own CLI, fixed arguments, no shell
        [sys.executable, "-m", "slsops.cli", *args], timeout=timeout, check=False
    )


def plan_is_clean(tf_dir: Path) -> tuple[bool, str]:
    """Run `terraform plan -detailed-exitcode` in the applied copy; (clean, summary line)."""
    done = subprocess.run(  # noqa: S603  terraform argv we build, no shell
        [
            str(terraform.find_terraform()),
            "plan",
            "-detailed-exitcode",
            "-input=false",
            "-no-color",
            "-lock=false",
        ],
        cwd=tf_dir,
        env=terraform.terraform_env(tf_dir.parent / "terraform"),
        capture_output=True,
        text=True,
        timeout=PLAN_TIMEOUT_S,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if done.returncode == NO_CHANGES:
        return True, "no changes: the applied infrastructure matches the configuration"
    if done.returncode == CHANGES:
        changed = [
            line.strip()
            for line in lines
            if line.strip().startswith("# ")
            and not line.strip().startswith(("# data.", "# ("))
            and (" will be " in line or " must be " in line)
        ]
        return False, "plan shows changes: " + "; ".join(changed[:10])
    return False, f"terraform plan failed: {(done.stderr or done.stdout).strip()[-600:]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", type=Path, default=Path("build/infra-plan/stack.json"))
    args = parser.parse_args(argv)
    started = time.monotonic()
    up = _slsops(
        "local",
        "up",
        "--detach",
        "--stack",
        str(args.stack),
        "--aws-port",
        "0",
        "--api-port",
        "0",
        timeout=600,
    )
    if up.returncode != 0:
        return up.returncode
    try:
        clean, summary = plan_is_clean(workdir_for(args.stack) / "infra")
    finally:
        _slsops("local", "down", "--stack", str(args.stack), timeout=120)
    print(
        f"infra plan against the local stack: {summary} ({time.monotonic() - started:.0f} s)",
        file=sys.stderr,
    )
    return 0 if clean else 1


if __name__ == "__main__":
    raise SystemExit(main())
