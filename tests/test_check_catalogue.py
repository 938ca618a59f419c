"""The check catalogue holds every check of every family, and every check has a break test.

A break test is a test marked ``@pytest.mark.breaks("ID", ...)`` that breaks what the check
reads and asserts the check FAILs. The markers are found by parsing ``tests/*.py`` with ``ast``
(ids written literally); a marker whose ids are computed (``breaks(c.id)`` in a parametrize)
is read from pytest's own collection of that file.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from slsops.cli import app
from slsops.contract import LOCAL_GAPS
from slsops.errors import UsageError
from slsops.framework import catalogue as catalogue_module
from slsops.framework.model import RUNS_ON, Severity

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
SOURCE = ROOT / "tools" / "slsops"


def is_breaks_marker(node: ast.AST) -> bool:
    """``pytest.mark.breaks(...)`` or ``mark.breaks(...)``."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "breaks"
        and isinstance(node.func.value, ast.Attribute)
        and node.func.value.attr == "mark"
    )


def literal_markers() -> tuple[dict[str, list[str]], set[Path]]:
    """Check id -> ``file:line`` of each break test written literally, and the files whose
    markers compute their ids."""
    found: dict[str, list[str]] = {}
    computed: set[Path] = set()
    for path in sorted(TESTS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if not is_breaks_marker(node):
                continue
            for arg in node.args:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found.setdefault(arg.value, []).append(f"{path.name}:{node.lineno}")
                else:
                    computed.add(path)
    return found, computed


COLLECTOR = textwrap.dedent(
    """
    import json, os

    def pytest_collection_modifyitems(session, config, items):
        ids = {}
        for item in items:
            for mark in item.iter_markers("breaks"):
                for check_id in mark.args:
                    ids.setdefault(str(check_id), []).append(item.nodeid)
        with open(os.environ["BREAKS_OUT"], "w") as out:
            json.dump(ids, out)
    """
)


def collected_markers(files: set[Path], tmp: Path) -> dict[str, list[str]]:
    """Break markers of ``files`` as pytest collects them (computed ids resolved)."""
    if not files:
        return {}
    (tmp / "breaks_collector.py").write_text(COLLECTOR)
    out = tmp / "breaks.json"
    done = subprocess.run(  # noqa: S603 - pytest on our own tests
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "breaks_collector",
            "-p",
            "no:cacheprovider",
            *map(str, sorted(files)),
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp), os.environ.get("PYTHONPATH")])),
            "BREAKS_OUT": str(out),
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0 and out.exists(), (
        f"collecting {sorted(files)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def entries() -> list[catalogue_module.Entry]:
    missing = catalogue_module.missing_sources()
    assert not missing, "check lists the catalogue names but cannot load:\n" + "\n".join(
        f"  {name}: {why}" for name, why in missing.items()
    )
    return catalogue_module.catalogue()


def test_every_family_check_list_loads() -> None:
    """Names exactly which families are missing (LOAD-, REL-, ... while they are being built)."""
    missing = catalogue_module.missing_sources()
    assert missing == {}, "\n".join(f"{name}: {why}" for name, why in missing.items())


def test_catalogue_covers_every_command_family() -> None:
    commands = {s.command for s in catalogue_module.SOURCES}
    assert commands == {"verify", "roles", "audit", "drill", "load", "reliability"}


def test_an_unloadable_source_is_an_error_naming_it() -> None:
    ghost = catalogue_module.Source("ghost", "slsops.checks.no_such_family")
    wrong = catalogue_module.Source("ghost", "slsops.framework.model", "RUNS_ON")
    with pytest.raises(catalogue_module.CatalogueIncomplete) as raised:
        catalogue_module.catalogue((ghost, wrong))
    assert "slsops.checks.no_such_family.CHECKS" in str(raised.value)
    assert "slsops.framework.model.RUNS_ON" in str(raised.value)


def test_check_ids_are_unique(entries) -> None:
    ids = [e.check.id for e in entries]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert duplicates == []


def test_check_ids_are_literal_in_the_code(entries) -> None:
    """grep finds each id as a string literal in the toolkit's source."""
    source = "\n".join(p.read_text(encoding="utf-8") for p in SOURCE.rglob("*.py"))
    not_literal = [
        e.check.id
        for e in entries
        if not re.search(rf"""["']{re.escape(e.check.id)}["']""", source)
    ]
    assert not_literal == []


def test_every_check_says_what_it_reads_and_where_it_runs(entries) -> None:
    incomplete = [
        f"{e.check.id}: reads={e.check.reads!r} runs_on={e.check.runs_on!r}"
        for e in entries
        if not e.check.reads.strip() or e.check.runs_on not in RUNS_ON
    ]
    assert incomplete == []


def test_aws_only_checks_are_exactly_the_contract_local_gaps(entries) -> None:
    """The runner SKIPs an ``aws`` check on the local stack with the contract's reason; one
    without a reason would be an ERROR, a reason without its check a stale entry."""
    aws_only = {e.check.id for e in entries if e.check.runs_on == "aws"}
    assert aws_only == set(LOCAL_GAPS)


def test_every_check_names_a_document_that_exists(entries) -> None:
    """``doc`` is where an on-call engineer reads what a FAIL means: it must be there."""
    broken = [
        f"{e.check.id}: {e.check.doc!r}"
        for e in entries
        if not e.check.doc or not (ROOT / e.check.doc.split("#", 1)[0]).is_file()
    ]
    assert broken == []


def test_every_check_id_has_a_break_test(entries, tmp_path: Path) -> None:
    literal, computed = literal_markers()
    collected = collected_markers(computed, tmp_path)
    proven = set(literal) | set(collected)
    unproven = [f"{e.check.id} ({e.command})" for e in entries if e.check.id not in proven]
    assert unproven == [], (
        f"{len(unproven)} check id(s) without a @pytest.mark.breaks test:\n  "
        + "\n  ".join(unproven)
    )


def test_break_markers_name_only_registered_checks(entries, tmp_path: Path) -> None:
    literal, computed = literal_markers()
    marked = set(literal) | set(collected_markers(computed, tmp_path))
    known = {e.check.id for e in entries}
    assert sorted(marked - known) == [], "breaks() names an id no check has"


def test_checks_command_lists_every_entry_as_json(entries) -> None:
    done = CliRunner().invoke(app, ["checks", "--format", "JSON"])
    assert done.exit_code == 0, done.output
    listed = json.loads(done.stdout)
    assert listed["count"] == len(entries)
    first = listed["checks"][0]
    assert set(first) == {"id", "family", "command", "severity", "title", "reads", "runs_on", "doc"}
    assert first["severity"] in {s.value for s in Severity}
    assert [c["id"] for c in listed["checks"]] == [e.check.id for e in entries]


def test_checks_command_filters_by_family_in_any_case(entries) -> None:
    done = CliRunner().invoke(app, ["checks", "--family", "ddb", "--format", "json"])
    assert done.exit_code == 0, done.output
    ids = [c["id"] for c in json.loads(done.stdout)["checks"]]
    assert ids and all(i.startswith("DDB-") for i in ids)
    by_command = CliRunner().invoke(app, ["checks", "--family", "Roles", "-f", "json"])
    roles = json.loads(by_command.stdout)["checks"]
    assert roles and {c["command"] for c in roles} == {"roles"}
    table = CliRunner().invoke(app, ["checks", "--family", "KMS"])
    assert table.exit_code == 0 and "KMS-001" in table.stdout and "runs_on" in table.stdout


def test_checks_command_refuses_an_unknown_family(entries) -> None:
    done = CliRunner().invoke(app, ["checks", "--family", "nope"])
    assert isinstance(done.exception, UsageError), done.output
    assert "unknown --family 'nope'" in str(done.exception)
