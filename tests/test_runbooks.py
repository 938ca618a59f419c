"""Runbooks cannot drift: every alarm links to an existing page, every slsops command runs.

1. Every ``aws_cloudwatch_metric_alarm`` in ``infra/*.tf`` has an ``alarm_description`` holding
   ``${var.runbook_base_url}/<page>.md`` and ``runbooks/<page>.md`` exists.
2. Every ``slsops ...`` command written in a fenced code block (``bash``, ``sh``, ``shell``,
   ``console``; ``$ `` prompts and leading ``VAR=value`` assignments allowed, ``\\`` line
   continuations joined) of any page in ``runbooks/`` is run against the session's local stack
   with ``--stack`` pointing at its stack file (added where the command takes it but the page
   left it out), ``--output``/``--evidence``/``--violations`` redirected to a temporary folder.
   It must exit 0 or 1 (a report), never 2 (usage: the page names an option or command that
   does not exist) nor 3, and never print a traceback.

Not run, by design: ``slsops local up``/``slsops local down`` (the fixture owns the stack's
lifetime; starting or stopping another would break the session), and lines holding a
``<placeholder>``. Fault plans a page sets are cleared after every command.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from infra_hcl import load_infra

ROOT = Path(__file__).resolve().parents[1]
RUNBOOKS = ROOT / "runbooks"
LINK = re.compile(r"\$\{var\.runbook_base_url\}/(?P<page>[A-Za-z0-9._-]+\.md)")
FENCE = re.compile(r"^\s*```\s*(?P<lang>[A-Za-z]*)\s*$")
SHELL_LANGS = {"bash", "sh", "shell", "console", "zsh"}
NOT_RUN = (("local", "up"), ("local", "down"))
FILE_OPTIONS = {"--output", "-o", "--evidence", "--violations"}
CLI = (sys.executable, "-m", "slsops.cli")
SHELL_STOP = {"|", "||", "&&", ";", ">", ">>", "2>", "2>&1", "&"}


# ------------------------------------------------------------------------------ alarms


def test_every_alarm_links_to_an_existing_runbook():
    alarms = load_infra().resources_of("aws_cloudwatch_metric_alarm")
    assert alarms, "no aws_cloudwatch_metric_alarm in infra/"
    for name, alarm in alarms.items():
        description = str(alarm.get("alarm_description", ""))
        links = LINK.findall(description)
        assert links, f"alarm {name}: alarm_description has no runbook link: {description!r}"
        for page in links:
            assert (RUNBOOKS / page).is_file(), f"alarm {name} links to missing runbooks/{page}"


def test_the_three_alarm_pages_exist_and_name_commands():
    for page in ("alarm-lambda-error-rate.md", "alarm-dynamodb-throttling.md", "alarm-api-5xx.md"):
        commands = [c for c in runbook_commands() if c.page == page]
        assert commands, f"runbooks/{page} names no slsops command in a fenced block"


# ------------------------------------------------------------------------------ commands


@dataclass(frozen=True)
class RunbookCommand:
    page: str
    line: int
    argv: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.page}:{self.line}:{' '.join(self.argv[:4])}"


def _logical_lines(block: list[tuple[int, str]]):
    """Join backslash continuations; yield (first line number, text)."""
    pending, start = "", 0
    for number, text in block:
        if not pending:
            start = number
        stripped = text.rstrip()
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        yield start, pending + stripped
        pending = ""
    if pending:
        yield start, pending


def _argv(text: str) -> tuple[str, ...] | None:
    """The slsops argv of a shell line, or None when the line is no slsops command."""
    text = text.strip()
    if text.startswith("$ "):
        text = text[2:]
    text = re.sub(r"\$\([^()]*\)", "x", text)  # $(date ...) in a file name: one word
    try:
        tokens = shlex.split(text, comments=True)
    except ValueError:
        return None
    while tokens and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", tokens[0]):
        tokens.pop(0)  # AWS_PROFILE=prod slsops ...
    if not tokens or tokens[0] != "slsops":
        return None
    for index, token in enumerate(tokens):
        if token in SHELL_STOP:
            tokens = tokens[:index]
            break
    return tuple(tokens[1:])


def runbook_commands(folder: Path = RUNBOOKS) -> list[RunbookCommand]:
    found: list[RunbookCommand] = []
    for page in sorted(folder.glob("*.md")):
        in_block, lang, block = False, "", []
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), start=1):
            fence = FENCE.match(line)
            if fence and not in_block:
                in_block, lang, block = True, fence.group("lang").lower(), []
                continue
            if fence and in_block:
                in_block = False
                if lang in SHELL_LANGS:
                    for start, text in _logical_lines(block):
                        argv = _argv(text)
                        if argv is not None:
                            found.append(RunbookCommand(page.name, start, argv))
                continue
            if in_block:
                block.append((number, line))
    return found


def test_extraction_reads_prompts_continuations_and_assignments(tmp_path):
    (tmp_path / "page.md").write_text(
        "text\n```console\n$ AWS_PROFILE=prod slsops roles --stack prod.json\nout\n```\n"
        "```bash\nslsops verify \\\n  --only 'FN-*'   # comment\nslsops audit | tee x\n"
        "slsops drill --evidence drill-$(date -u +%F).json\n```\n"
        "```python\nslsops = 1\n```\n"
    )
    commands = runbook_commands(tmp_path)
    assert [c.argv for c in commands] == [
        ("roles", "--stack", "prod.json"),
        ("verify", "--only", "FN-*"),
        ("audit",),
        ("drill", "--evidence", "drill-x.json"),
    ]
    assert [c.line for c in commands] == [3, 7, 9, 10]


_TAKES_STACK: dict[tuple[str, ...], bool] = {}


def _command_path(argv: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(a for a in argv[:3] if not a.startswith("-"))[:2]


def _takes_stack(path: tuple[str, ...]) -> bool:
    if path not in _TAKES_STACK:
        helped = subprocess.run(  # noqa: S603  argv of our own CLI, no shell
            [*CLI, *path, "--help"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        _TAKES_STACK[path] = "--stack" in helped.stdout
    return _TAKES_STACK[path]


def prepared(command: RunbookCommand, stack_file: Path, scratch: Path) -> list[str]:
    """The command's argv with the fixture's stack file and scratch output paths."""
    argv = list(command.argv)
    out: list[str] = []
    index = 0
    while index < len(argv):
        token = argv[index]
        name, _, inline = token.partition("=")
        if name == "--stack":
            out += ["--stack", str(stack_file)]
            index += 1 if inline else 2
            continue
        if name in FILE_OPTIONS:
            target = scratch / f"{name.strip('-')}-{index}.out"
            out += [name, str(target)]
            index += 1 if inline else 2
            continue
        out.append(token)
        index += 1
    if "--stack" not in out and _takes_stack(_command_path(command.argv)):
        out += ["--stack", str(stack_file)]
    return out


def _runnable(commands: list[RunbookCommand]) -> list[RunbookCommand]:
    """Commands to run: not local up/down, no placeholders, each distinct argv once."""
    chosen, seen = [], set()
    for command in commands:
        if _command_path(command.argv) in NOT_RUN:
            continue
        if re.search(r"<[^>]+>", " ".join(command.argv)):
            continue
        argv = list(command.argv)
        if "--stack" in argv[:-1]:
            del argv[argv.index("--stack") : argv.index("--stack") + 2]
        if tuple(argv) in seen:
            continue
        seen.add(tuple(argv))
        chosen.append(command)
    return chosen


RUNNABLE = _runnable(runbook_commands())


@pytest.mark.stack
@pytest.mark.timeout(900)
@pytest.mark.parametrize("command", RUNNABLE, ids=[c.label for c in RUNNABLE])
def test_runbook_command_runs(command, local_stack, tmp_path):
    argv = prepared(command, local_stack.path, tmp_path)
    try:
        done = subprocess.run(  # noqa: S603  argv of our own CLI, no shell
            [*CLI, *argv],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    finally:
        subprocess.run(  # noqa: S603  a page may set faults: never leave them on
            [*CLI, "local", "faults", "clear", "--stack", str(local_stack.path)],
            capture_output=True,
            timeout=60,
            check=False,
        )
    where = f"runbooks/{command.page} line {command.line}: slsops {' '.join(argv)}"
    assert "Traceback" not in done.stderr + done.stdout, f"{where}\n{done.stderr[-2000:]}"
    assert done.returncode in (0, 1), f"{where} exited {done.returncode}\n{done.stderr[-2000:]}"
