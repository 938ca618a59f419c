"""Output formats of a report: table, JSON, JUnit XML, CSV and a self-contained HTML page.

Every renderer reads the report's dict (:meth:`Report.as_dict`), so what a format shows is what
the JSON holds. The JUnit writer also serves ``nox -s suite``, which turns each step's report
JSON into JUnit XML.
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Literal, TextIO, get_args
from xml.etree import ElementTree as ET

import click
from tabulate import tabulate

from slsops.errors import UsageError
from slsops.framework.report import Report
from slsops.redact import redact_text

FormatName = Literal["table", "json", "junit", "csv", "html"]
FORMATS: tuple[str, ...] = get_args(FormatName)

STATUS_COLOURS = {
    "PASS": "green",
    "FAIL": "red",
    "ERROR": "magenta",
    "WARN": "yellow",
    "SKIP": "blue",
}
CSV_COLUMNS = (
    "command",
    "target_kind",
    "region",
    "account_id",
    "id",
    "title",
    "status",
    "severity",
    "detail",
    "remediation",
    "evidence",
)


def summary_line(report: Report) -> str:
    """``verify: pass 40, fail 2, ... (3.1 s); failed: DDB-001, KMS-003``."""
    counts = ", ".join(f"{k} {v}" for k, v in report.summary().items())
    line = f"{report.command}: {counts} ({report.duration_s:.1f} s)"
    failed = report.failed_ids()
    if failed:
        line += f"; failed: {', '.join(failed)}"
    if report.fail_on is not None:
        line += f"; --fail-on {report.fail_on}"
    return line


def render_table(report: Report, colour: bool = False) -> str:
    """One row per shown check; the status cell coloured when ``colour`` (a terminal)."""

    def status_cell(status: str) -> str:
        if not colour:
            return status
        return click.style(
            status, fg=STATUS_COLOURS.get(status), bold=status in ("FAIL", "ERROR") or None
        )

    rows = [
        [r.id, status_cell(r.status.value), r.severity.value, r.title, _shorten(r.detail, 90)]
        for r in report.shown()
    ]
    table = tabulate(rows, headers=["id", "status", "severity", "title", "detail"])
    shown = ""
    if report.view.narrowed:
        shown = f"(showing {len(rows)} of {len(report.results)} checks)\n"
    return f"{table}\n{shown}\n{summary_line(report)}\n"


def _shorten(text: str, width: int) -> str:
    """One line of at most ``width`` characters (table cells stay readable)."""
    line = " ".join(str(text).split())
    return line if len(line) <= width else line[: width - 1] + "…"


def render_json(report: Report) -> str:
    return json.dumps(report.as_dict(), indent=2, sort_keys=False, default=str) + "\n"


def junit_xml(body: dict[str, Any], durations: dict[str, float] | None = None) -> str:
    """JUnit XML of a report dict: one testcase per check (FAIL, ERROR and SKIP as JUnit has
    them, WARN in system-out). ``durations`` adds each check's time when it is known."""
    command = body.get("command", "?")
    checks = body.get("checks", [])
    durations = durations or {}
    suite = ET.Element(
        "testsuite",
        name=f"slsops {command}",
        tests=str(len(checks)),
        failures=str(sum(c.get("status") == "FAIL" for c in checks)),
        errors=str(sum(c.get("status") == "ERROR" for c in checks)),
        skipped=str(sum(c.get("status") == "SKIP" for c in checks)),
        time=f"{float(body.get('duration_s', 0)):.3f}",
    )
    for check in checks:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"slsops.{command}",
            name=f"{check.get('id')} {check.get('title', '')}",
        )
        if check.get("id") in durations:
            case.set("time", f"{durations[check['id']]:.3f}")
        status, detail = check.get("status"), str(check.get("detail", ""))
        remediation = str(check.get("remediation", ""))
        if status == "FAIL":
            ET.SubElement(case, "failure", message=detail).text = remediation
        elif status == "ERROR":
            ET.SubElement(case, "error", message=detail).text = remediation
        elif status == "SKIP":
            ET.SubElement(case, "skipped", message=detail)
        elif status == "WARN":
            ET.SubElement(case, "system-out").text = f"WARN: {detail}"
    root = ET.Element("testsuites")
    root.append(suite)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def render_junit(report: Report) -> str:
    return junit_xml(report.as_dict(), {r.id: r.duration_s for r in report.results})


def render_csv(report: Report) -> str:
    """One row per shown check, evidence as compact JSON in its own column."""
    body = report.as_dict()
    target = body.get("target") or {}
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for check in body["checks"]:
        writer.writerow(
            {
                "command": body["command"],
                "target_kind": target.get("kind", ""),
                "region": target.get("region", ""),
                "account_id": target.get("account_id", ""),
                **{k: check.get(k, "") for k in ("id", "title", "status", "severity")},
                "detail": check.get("detail", ""),
                "remediation": check.get("remediation", ""),
                "evidence": json.dumps(check.get("evidence") or {}, sort_keys=True, default=str),
            }
        )
    return buffer.getvalue()


HTML_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #eee; }
.status { font-weight: bold; }
.PASS { color: #1a7f37; } .FAIL { color: #cf222e; } .ERROR { color: #8250df; }
.WARN { color: #9a6700; } .SKIP { color: #0969da; }
pre { white-space: pre-wrap; margin: 0; font-size: 0.85em; }
"""


def render_html(report: Report) -> str:
    """A page with no external resource (styles inline), every value escaped."""
    body = report.as_dict()
    esc = html.escape
    target = body.get("target") or {}
    rows = []
    for check in body["checks"]:
        status = esc(str(check.get("status", "")))
        evidence = json.dumps(check.get("evidence") or {}, indent=2, sort_keys=True, default=str)
        rows.append(
            f"<tr><td>{esc(str(check.get('id', '')))}</td>"
            f'<td class="status {status}">{status}</td>'
            f"<td>{esc(str(check.get('severity', '')))}</td>"
            f"<td>{esc(str(check.get('title', '')))}</td>"
            f"<td>{esc(str(check.get('detail', '')))}</td>"
            f"<td>{esc(str(check.get('remediation', '')))}</td>"
            f"<td><details><summary>evidence</summary><pre>{esc(evidence)}</pre></details></td>"
            "</tr>"
        )
    target_text = ", ".join(f"{k} {v}" for k, v in target.items() if v not in (None, ""))
    title = f"slsops {body['command']}"
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
        f"<style>{HTML_STYLE}</style></head><body>\n"
        f"<h1>{esc(title)}</h1>\n"
        f"<p>Target: {esc(target_text)}<br>Started {esc(str(body['started_at']))}, "
        f"{body['duration_s']} s</p>\n"
        f"<p><strong>{esc(summary_line(report))}</strong></p>\n"
        "<table><thead><tr><th>id</th><th>status</th><th>severity</th><th>title</th>"
        "<th>detail</th><th>remediation</th><th>evidence</th></tr></thead><tbody>\n"
        + "\n".join(rows)
        + "\n</tbody></table>\n</body></html>\n"
    )


RENDERERS = {
    "table": render_table,
    "json": render_json,
    "junit": render_junit,
    "csv": render_csv,
    "html": render_html,
}


def render(report: Report, fmt: str, colour: bool = False) -> str:
    fmt = fmt.lower()
    if fmt not in RENDERERS:
        raise UsageError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    text = render_table(report, colour) if fmt == "table" else RENDERERS[fmt](report)
    return redact_text(text)


def wants_colour(stream: TextIO) -> bool:
    """Colour on a terminal only, and never with ``NO_COLOR`` set (no-color.org)."""
    return stream.isatty() and not os.environ.get("NO_COLOR")


def refuse_directory(path: Path | None, option: str = "--output") -> None:
    """A report path that is a directory, or whose folder cannot be made or written, is a
    usage error (exit 2), found before any work."""
    problem = unwritable_reason(path)
    if problem:
        raise UsageError(f"{option} {path} {problem}")


def unwritable_reason(path: Path | None) -> str | None:
    """Why :func:`write_atomically` could not write ``path`` (``None``: it could, as far as
    can be told before writing): a directory, a folder that is a file, a folder not writable."""
    if path is None:
        return None
    if path.is_dir():
        return "is a directory; give a file path"
    if path.exists() and not path.is_file():  # /dev/stdout, a FIFO: written in place
        return None if os.access(path, os.W_OK) else "cannot be written: no permission"
    folder = path.absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent  # write_atomically creates the missing folders
    if not folder.is_dir():
        return f"cannot be written: {folder} is not a directory"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"cannot be written: no permission to write in {folder}"
    return None


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so a reader never sees half a file.

    A path that exists and is no regular file (``/dev/stdout``, a FIFO) is written in place:
    replacing it would put a regular file where the device or pipe was.
    """
    if path.exists() and not path.is_file() and not path.is_dir():
        with open(path, "w", encoding="utf-8") as stream:
            stream.write(text)
        return
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
    """Print the report on stdout, or write it to ``output`` and say so on stderr."""
    if output is None:
        print(render(report, fmt, colour=wants_colour(sys.stdout)), end="")
        return
    refuse_directory(output)
    write_atomically(output, render(report, fmt))
    print(f"{report.command}: wrote the {fmt.lower()} report to {output}", file=sys.stderr)
    print(redact_text(summary_line(report)), file=sys.stderr)
