"""Output formats of a report: table (tabulate), JSON, JUnit XML."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from xml.etree import ElementTree as ET

from tabulate import tabulate

from slsops.checks.model import Status
from slsops.checks.report import Report
from slsops.errors import UsageError
from slsops.redact import redact_text

FORMATS = ("table", "json", "junit")


def render_table(report: Report) -> str:
    rows = [
        [r.id, r.status.value, r.severity.value, r.title, _shorten(r.detail, 90)]
        for r in report.results
    ]
    table = tabulate(rows, headers=["id", "status", "severity", "title", "detail"])
    summary = ", ".join(f"{k} {v}" for k, v in report.summary().items())
    return f"{table}\n\n{report.command}: {summary} ({report.duration_s:.1f} s)\n"


def _shorten(text: str, width: int) -> str:
    """One line of at most ``width`` characters (table cells stay readable)."""
    line = " ".join(str(text).split())
    return line if len(line) <= width else line[: width - 1] + "…"


def render_json(report: Report) -> str:
    return json.dumps(report.as_dict(), indent=2, sort_keys=False, default=str) + "\n"


def render_junit(report: Report) -> str:
    summary = report.summary()
    suite = ET.Element(
        "testsuite",
        name=f"slsops {report.command}",
        tests=str(len(report.results)),
        failures=str(summary["fail"]),
        errors=str(summary["error"]),
        skipped=str(summary["skip"]),
        time=f"{report.duration_s:.3f}",
    )
    for r in report.results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"slsops.{report.command}",
            name=f"{r.id} {r.title}",
            time=f"{r.duration_s:.3f}",
        )
        if r.status is Status.FAIL:
            ET.SubElement(case, "failure", message=r.detail).text = r.remediation
        elif r.status is Status.ERROR:
            ET.SubElement(case, "error", message=r.detail).text = r.remediation
        elif r.status is Status.SKIP:
            ET.SubElement(case, "skipped", message=r.detail)
        elif r.status is Status.WARN:
            ET.SubElement(case, "system-out").text = f"WARN: {r.detail}"
    root = ET.Element("testsuites")
    root.append(suite)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


RENDERERS = {"table": render_table, "json": render_json, "junit": render_junit}


def render(report: Report, fmt: str) -> str:
    if fmt not in RENDERERS:
        raise UsageError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return redact_text(RENDERERS[fmt](report))


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def emit(report: Report, fmt: str, output: Path | None) -> None:
    """Print the report (stdout) or write it to ``output``."""
    text = render(report, fmt)
    if output is None:
        print(text, end="")
    else:
        write_atomically(output, text)
