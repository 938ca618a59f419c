"""The Locust command line of one run, and the user classes a locustfile defines."""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

from slsops.load.run_shape import RunShape, locust_seconds

STOP_TIMEOUT_S = 10


def scenario_classes(locustfile: Path) -> set[str]:
    """User classes the locustfile defines (not abstract), read without importing Locust."""
    tree = ast.parse(Path(locustfile).read_text(encoding="utf-8"))
    found = set()
    for node in tree.body:
        if not isinstance(node, ast.ClassDef) or not node.bases:
            continue
        abstract = any(
            isinstance(item, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "abstract" for t in item.targets)
            and isinstance(item.value, ast.Constant)
            and item.value.value is True
            for item in node.body
        )
        if not abstract:
            found.add(node.name)
    return found


def locust_command(
    args: argparse.Namespace,
    shape: RunShape,
    stack_path: Path,
    api_url: str,
    narrowed_by: str = "",
) -> list[str]:
    results = args.results
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(args.locustfile),
        "--headless",
        "--only-summary",
        "--host",
        api_url,
        "--users",
        str(shape.users),
        "--spawn-rate",
        f"{shape.spawn_rate:g}",
        "--run-time",
        f"{locust_seconds(shape)}s",
        "--stop-timeout",
        str(STOP_TIMEOUT_S),
        # Locust's own rule (exit 1 on any failed request) is replaced by the verdict's.
        "--exit-code-on-error",
        "0",
        "--csv",
        str(results / "locust"),
        "--html",
        str(results / "report.html"),
        "--slsops-stack",
        str(stack_path),
        "--gate-profile",
        args.profile,
        "--gate-targets",
        str(args.targets),
        "--verdict-json",
        str(results / "verdict.json"),
        "--batch-size",
        str(shape.batch_size),
        "--task-rate",
        f"{shape.task_rate:g}",
        "--read-pages",
        str(shape.read_pages),
    ]
    # Rates and percentiles over the steady state: after the ramp-up and the warm-up.
    if shape.warmup_s > 0:
        command += ["--warmup", f"{shape.warmup_s:g}"]
    else:
        command += ["--reset-stats"]
    if shape.processes:
        command += ["--processes", str(shape.processes)]
    if narrowed_by:
        command += ["--gate-narrowed-by", narrowed_by]
    if shape.tags:
        command += ["--tags", *shape.tags]
    command += list(shape.classes)
    return command
