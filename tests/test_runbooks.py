"""Runbooks run as written: every shell step of every page runs against the local stack.

1. Every ``aws_cloudwatch_metric_alarm`` in ``infra/*.tf`` has an ``alarm_description`` holding
   ``${var.runbook_base_url}/<page>.md`` and ``runbooks/<page>.md`` exists.
2. Every fenced shell block (``bash``, ``sh``, ``shell``, ``console``, ``zsh``) of every page
   is either run or marked, on the line just before its fence, with
   ``<!-- needs real AWS: reason -->`` or ``<!-- not rehearsed locally: reason -->``
   (runbooks/README.md describes the convention).
3. Each page's runnable blocks run in order, in one ``bash`` (so a variable set in one step is
   there for the next), in a scratch folder holding the page's stack files (``prod.json``,
   ``stack.json``: copies of the session's local stack file) and ``infra`` (the local stack's
   applied Terraform folder), with ``slsops``, ``aws`` (AWS CLI v1), ``jq`` and ``terraform``
   on PATH, the AWS CLI pointed at the local stack (``AWS_ENDPOINT_URL``, region, profiles
   ``default``/``prod`` = the local operator, ``break-glass`` = the local admin).
   Placeholders (``<previous deployment id>``) are filled from ``PAGE_VALUES``, values read
   from the stack. Every step must exit 0 (the local stack is healthy, so a report with a FAIL
   or ERROR is a step that does not work as written); a step whose shown output is an AWS
   error (``An error occurred ...``) must fail with a service error. No step may print a
   Python traceback.

Clean-up after every page: fault plans cleared, tables and backups the page created deleted,
files it wrote into the stack's Terraform folder removed, the functions' reserved concurrency
put back as it was.
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from infra_hcl import load_infra
from stack_breaks import aws, stage_deployment

from slsops.terraform import terraform_env

ROOT = Path(__file__).resolve().parents[1]
RUNBOOKS = ROOT / "runbooks"
LINK = re.compile(r"\$\{var\.runbook_base_url\}/(?P<page>[A-Za-z0-9._-]+\.md)")
FENCE = re.compile(r"^(?P<indent>\s*)```\s*(?P<lang>[A-Za-z]*)\s*$")
SHELL_LANGS = {"bash", "sh", "shell", "console", "zsh"}
MARKER = re.compile(
    r"^\s*<!--\s*(?P<kind>needs real AWS|not rehearsed locally)\s*:\s*(?P<reason>.*?)\s*-->\s*$"
)
PLACEHOLDER = re.compile(r"<[A-Za-z][A-Za-z0-9 _-]*>")
AWS_ERROR_SHOWN = re.compile(r"^An error occurred \(")
PAGE_TIMEOUT_S = 900
STACK_LIFETIME = re.compile(r"\bslsops\s+local\s+(up|down)\b")
CLI = (sys.executable, "-m", "slsops.cli")
# exit codes that never mean "the service refused": usage errors and command-not-found
NOT_A_REFUSAL = {0, 2, 126, 127, 252}


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


# ------------------------------------------------------------------------------ parsing


@dataclass(frozen=True)
class Step:
    """One command of a page (continuation lines joined), with what its page shows after it."""

    line: int
    text: str
    expect_refusal: bool = False

    @property
    def is_slsops(self) -> bool:
        words = self.text.split()
        while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
            words.pop(0)  # AWS_PROFILE=prod slsops ...
        return bool(words) and words[0] == "slsops"


@dataclass
class ShellBlock:
    page: str
    line: int  # the opening fence
    lang: str
    body: list[tuple[int, str]] = field(default_factory=list)
    marker: str = ""  # "needs real AWS" / "not rehearsed locally" / ""
    reason: str = ""

    @property
    def runnable(self) -> bool:
        return not self.marker

    def steps(self) -> list[Step]:
        return console_steps(self.body) if self.lang == "console" else script_steps(self.body)


def _open_constructs(text: str) -> int:
    """How many shell constructs (loops, ifs, heredocs, line continuations) are still open."""
    words = re.findall(r"[A-Za-z]+", re.sub(r"'[^']*'|\"[^\"]*\"", "", text))
    depth = words.count("do") - words.count("done") + words.count("if") - words.count("fi")
    heredoc = re.search(r"<<-?\s*'?(?P<tag>[A-Za-z_]+)'?", text)
    if heredoc and not re.search(rf"\n\s*{heredoc.group('tag')}\s*$", text):
        depth += 1
    stripped = text.rstrip()
    if stripped.endswith(("\\", "|", "&&", "||")):
        depth += 1
    return depth


def script_steps(body: list[tuple[int, str]]) -> list[Step]:
    """Every line of a bash/sh block is a command (continuations and constructs joined)."""
    steps, pending, start = [], "", 0
    for number, text in body:
        if not pending:
            if not text.strip() or text.lstrip().startswith("#"):
                continue
            start = number
        pending = f"{pending}\n{text}" if pending else text
        if _open_constructs(pending) <= 0:
            steps.append(Step(start, pending))
            pending = ""
    if pending:
        steps.append(Step(start, pending))
    return steps


def console_steps(body: list[tuple[int, str]]) -> list[Step]:
    """``$ `` lines (and their continuations) are commands; other lines are shown output."""
    steps: list[Step] = []
    pending, start, refused = "", 0, False

    def close() -> None:
        nonlocal pending, refused
        if pending:
            steps.append(Step(start, pending, refused))
        pending, refused = "", False

    for number, text in body:
        if pending and _open_constructs(pending) > 0:
            pending = f"{pending}\n{text}"
            continue
        if text.startswith("$ "):
            close()
            start, pending = number, text[2:]
            continue
        if pending and AWS_ERROR_SHOWN.match(text):
            refused = True
    close()
    return steps


def shell_blocks(folder: Path = RUNBOOKS) -> list[ShellBlock]:
    """The fenced shell blocks of every page, each with the marker on the line before it."""
    found: list[ShellBlock] = []
    for page in sorted(folder.glob("*.md")):
        if page.name == "README.md":
            continue
        lines = page.read_text(encoding="utf-8").splitlines()
        block: ShellBlock | None = None
        indent = ""
        in_other = False
        for number, line in enumerate(lines, start=1):
            fence = FENCE.match(line)
            if fence and block is None and not in_other:
                lang = fence.group("lang").lower()
                if lang not in SHELL_LANGS:
                    in_other = True
                    continue
                indent = fence.group("indent")
                block = ShellBlock(page.name, number, lang)
                previous = next((p for p in reversed(lines[: number - 1]) if p.strip()), "")
                marked = MARKER.match(previous)
                if marked:
                    block.marker, block.reason = marked.group("kind"), marked.group("reason")
                continue
            if fence and in_other:
                in_other = False
                continue
            if fence and block is not None:
                found.append(block)
                block = None
                continue
            if block is not None:
                text = line[len(indent) :] if line.startswith(indent) else line.lstrip()
                block.body.append((number, text))
    return found


def test_parsing_reads_prompts_continuations_loops_output_and_markers(tmp_path):
    (tmp_path / "page.md").write_text(
        "text\n```console\n$ AWS_PROFILE=prod slsops roles --stack prod.json\nout\n"
        "$ aws sts assume-role --role-arn x \\\n    --external-id wrong\n"
        "An error occurred (AccessDenied) when calling the AssumeRole operation: no\n```\n"
        "   ```bash\n   slsops verify \\\n     --only 'FN-*'\n   for x in a b; do\n"
        "     echo $x\n   done\n   ```\n"
        "<!-- needs real AWS: deploys -->\n\n```sh\nterraform apply\n```\n"
        "```python\nslsops = 1\n```\n"
        "```\n```sh\n```\n"
    )
    blocks = shell_blocks(tmp_path)
    assert [(b.lang, b.marker, b.reason) for b in blocks] == [
        ("console", "", ""),
        ("bash", "", ""),
        ("sh", "needs real AWS", "deploys"),
    ]
    first, second = blocks[0].steps(), blocks[1].steps()
    assert [(s.line, s.expect_refusal, s.is_slsops) for s in first] == [
        (3, False, True),
        (5, True, False),
    ]
    assert first[1].text == "aws sts assume-role --role-arn x \\\n    --external-id wrong"
    assert [s.text for s in second] == [
        "slsops verify \\\n  --only 'FN-*'",
        "for x in a b; do\n  echo $x\ndone",
    ]


BLOCKS = shell_blocks()
PAGES = sorted({b.page for b in BLOCKS if b.runnable})


def test_every_shell_block_runs_locally_or_is_marked_with_a_reason():
    assert BLOCKS, "no shell blocks in runbooks/"
    for block in BLOCKS:
        where = f"runbooks/{block.page} line {block.line}"
        if block.marker:
            assert block.reason, f"{where}: marked '{block.marker}' without a reason"
            continue
        assert block.steps(), f"{where}: a shell block with no command"
        for step in block.steps():
            assert not STACK_LIFETIME.search(step.text), (
                f"runbooks/{block.page} line {step.line}: starts or stops a local stack; the "
                "test's session owns the stack's lifetime, so mark the block"
            )


def test_the_three_alarm_pages_run_slsops_commands_locally():
    for page in ("alarm-lambda-error-rate.md", "alarm-dynamodb-throttling.md", "alarm-api-5xx.md"):
        steps = [s for b in BLOCKS if b.page == page and b.runnable for s in b.steps()]
        assert any(s.is_slsops for s in steps), f"runbooks/{page} runs no slsops command"


# ------------------------------------------------------------------------------ placeholders


def _live_alias_version(stack) -> str:
    client = aws(stack, "lambda")
    return client.get_alias(FunctionName=stack["ingest_function_name"], Name="live")[
        "FunctionVersion"
    ]


# Per page: placeholder -> its value on the local stack (runbooks/README.md lists them).
PAGE_VALUES: dict[str, dict[str, Callable[..., str]]] = {
    # Rolling the stage back is rehearsed onto the deployment it already serves: the commands
    # and permissions are exercised, the shared stack stays as it was.
    "deploy-and-roll-back.md": {
        "<previous deployment id>": stage_deployment,
        "<previous version>": _live_alias_version,
    },
    # The operator's published audit policy grants S3 on buckets named *-audit-exports; on the
    # local stack the audit creates the bucket when it is missing.
    "integrity-audit-found-violations.md": {
        "<audit-export-bucket>": lambda _stack: "runbook-audit-exports"
    },
}


def test_every_placeholder_of_a_runnable_step_has_a_value():
    for block in BLOCKS:
        if not block.runnable:
            continue
        for step in block.steps():
            for placeholder in PLACEHOLDER.findall(step.text):
                assert placeholder in PAGE_VALUES.get(block.page, {}), (
                    f"runbooks/{block.page} line {step.line}: {placeholder} has no value in "
                    "PAGE_VALUES; add one (read from the stack) or mark the block"
                )


# ------------------------------------------------------------------------------ running


def _aws_files(stack, folder: Path) -> dict[str, str]:
    """AWS CLI profiles: the operator as default/prod, the admin as break-glass and deploy."""
    operator = stack["local_credentials"]
    admin = stack.get("local_admin_credentials") or operator
    credentials = configparser.ConfigParser()
    config = configparser.ConfigParser()
    profiles = {"default": operator, "prod": operator, "break-glass": admin, "deploy": admin}
    for profile, keys in profiles.items():
        credentials[profile] = {
            "aws_access_key_id": keys["access_key_id"],
            "aws_secret_access_key": keys["secret_access_key"],
        }
        section = "default" if profile == "default" else f"profile {profile}"
        config[section] = {"region": stack.region, "output": "json"}
    paths = {
        "AWS_SHARED_CREDENTIALS_FILE": folder / "credentials",
        "AWS_CONFIG_FILE": folder / "config",
    }
    for parser, name in ((credentials, "AWS_SHARED_CREDENTIALS_FILE"), (config, "AWS_CONFIG_FILE")):
        with paths[name].open("w") as handle:
            parser.write(handle)
        paths[name].chmod(0o600)
    return {name: str(path) for name, path in paths.items()}


def page_environment(stack, work: Path) -> dict[str, str]:
    """What an operator's shell holds, pointed at the local stack."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SLSOPS_", "TF_"))}
    tf_home = stack.path.parent / stack.path.stem / "terraform"
    env = terraform_env(tf_home, base=keep)
    env.update(_aws_files(stack, work.parent))
    env.update(
        {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{keep.get('PATH', '')}",
            "HOME": str(work),
            "AWS_ENDPOINT_URL": stack.endpoint_url,
            "AWS_DEFAULT_REGION": stack.region,
            "AWS_PAGER": "",
            "SLSOPS_STACK": str(work / "stack.json"),
        }
    )
    return env


def prepare_workdir(stack, work: Path) -> None:
    work.mkdir(parents=True)
    for name in ("prod.json", "stack.json"):
        shutil.copyfile(stack.path, work / name)
        (work / name).chmod(0o600)
    applied = stack.path.parent / stack.path.stem / "infra"
    if applied.is_dir():
        (work / "infra").symlink_to(applied)


def page_script(blocks: list[ShellBlock], values: dict[str, str], logs: Path) -> tuple[str, list]:
    """One bash script running every step in order, recording each exit code and output."""
    lines = ["set -o pipefail", f'RESULTS="{logs}/results"']
    steps = []
    for block in blocks:
        for step in block.steps():
            text = step.text
            for placeholder, value in values.items():
                text = text.replace(placeholder, value)
            index = len(steps)
            steps.append(step)
            lines += [
                "{",
                text,
                f'}} >"{logs}/{index}.out" 2>"{logs}/{index}.err" </dev/null',
                f'__rc=$?; echo "{index} $__rc" >>"$RESULTS"; (exit $__rc)',
            ]
    return "\n".join(lines) + "\n", steps


def _tables(stack) -> set[str]:
    client = aws(stack, "dynamodb")
    return set(client.list_tables()["TableNames"])


def _backups(stack) -> set[str]:
    client = aws(stack, "dynamodb")
    return {b["BackupArn"] for b in client.list_backups()["BackupSummaries"]}


def _concurrency(stack) -> dict[str, int | None]:
    client = aws(stack, "lambda")
    names = (stack["ingest_function_name"], stack["read_function_name"])
    return {
        n: client.get_function_concurrency(FunctionName=n).get("ReservedConcurrentExecutions")
        for n in names
    }


def _applied_files(stack) -> set[Path]:
    applied = stack.path.parent / stack.path.stem / "infra"
    return {p for p in applied.iterdir() if p.is_file()} if applied.is_dir() else set()


def clean_up(stack, before: dict) -> None:
    """Remove what a page created and put back the reserved concurrency it changed."""
    tables, backups, concurrency = before["tables"], before["backups"], before["concurrency"]
    for leftover in _applied_files(stack) - before["files"]:
        leftover.unlink()  # e.g. a plan file written into the stack's Terraform folder
    dynamodb = aws(stack, "dynamodb")
    for name in sorted(_tables(stack) - tables):
        dynamodb.update_table(TableName=name, DeletionProtectionEnabled=False)
        dynamodb.delete_table(TableName=name)
    for arn in sorted(_backups(stack) - backups):
        dynamodb.delete_backup(BackupArn=arn)
    lambda_client = aws(stack, "lambda")
    for name, value in concurrency.items():
        if value is None:
            lambda_client.delete_function_concurrency(FunctionName=name)
        else:
            lambda_client.put_function_concurrency(
                FunctionName=name, ReservedConcurrentExecutions=value
            )
    subprocess.run(  # noqa: S603  a page may set faults: never leave them on
        [*CLI, "local", "faults", "clear", "--stack", str(stack.path)],
        capture_output=True,
        timeout=60,
        check=False,
    )


def step_problem(step: Step, code: int | None, out: str, err: str) -> str | None:
    """Why a step's outcome breaks its page, or None."""
    if "Traceback (most recent call last)" in out + err:
        return "printed a Python traceback"
    if code is None:
        return "did not run (an earlier step ended the shell, or the page timed out)"
    if step.expect_refusal:
        return None if code not in NOT_A_REFUSAL else f"exited {code}, the page shows a refusal"
    return None if code == 0 else f"exited {code}"


@pytest.mark.stack
@pytest.mark.timeout(PAGE_TIMEOUT_S + 120)
@pytest.mark.parametrize("page", PAGES)
def test_runbook_page_runs_as_written(page, local_stack, tmp_path):
    blocks = [b for b in BLOCKS if b.page == page and b.runnable]
    missing = [tool for tool in ("jq", "terraform") if shutil.which(tool) is None]
    assert not missing, f"the runbooks' steps need {', '.join(missing)} on PATH"
    work, logs = tmp_path / "work", tmp_path / "logs"
    prepare_workdir(local_stack, work)
    logs.mkdir()
    values = {k: fill(local_stack) for k, fill in PAGE_VALUES.get(page, {}).items()}
    script, steps = page_script(blocks, values, logs)
    (tmp_path / "page.sh").write_text(script)
    before = {
        "tables": _tables(local_stack),
        "backups": _backups(local_stack),
        "concurrency": _concurrency(local_stack),
        "files": _applied_files(local_stack),
    }
    try:
        subprocess.run(  # noqa: S603  bash running the page's own steps, on the local stack
            ["bash", str(tmp_path / "page.sh")],  # noqa: S607 bash from PATH, as a reader's shell
            cwd=work,
            env=page_environment(local_stack, work),
            capture_output=True,
            text=True,
            timeout=PAGE_TIMEOUT_S,
            check=False,
        )
    finally:
        clean_up(local_stack, before)
    codes = {}
    results = logs / "results"
    if results.exists():
        for row in results.read_text().splitlines():
            index, code = row.split()
            codes[int(index)] = int(code)
    problems = []
    for index, step in enumerate(steps):
        out = (logs / f"{index}.out").read_text(errors="replace") if index in codes else ""
        err = (logs / f"{index}.err").read_text(errors="replace") if index in codes else ""
        problem = step_problem(step, codes.get(index), out, err)
        if problem:
            problems.append(
                f"runbooks/{page} line {step.line}: {step.text.splitlines()[0][:120]}\n"
                f"  {problem}\n  stderr: {err.strip()[-800:]}"
            )
    assert not problems, "\n".join(problems)


def test_a_failing_step_is_reported_and_a_refusal_shown_is_expected():
    assert step_problem(Step(1, "aws dynamodb describe-table"), 255, "", "") == "exited 255"
    assert step_problem(Step(1, "slsops verify"), 0, "", "") is None
    assert step_problem(Step(1, "slsops verify"), 1, "", "") == "exited 1"
    assert step_problem(Step(1, "slsops verify"), 2, "", "") == "exited 2"
    refused = Step(1, "aws sts assume-role --external-id wrong", expect_refusal=True)
    assert step_problem(refused, 254, "", "") is None
    assert step_problem(refused, 0, "", "") == "exited 0, the page shows a refusal"
    assert step_problem(Step(1, "jq ."), 0, "", "Traceback (most recent call last):\n") == (
        "printed a Python traceback"
    )
    assert step_problem(Step(1, "jq ."), None, "", "").startswith("did not run")


def test_page_script_keeps_variables_between_steps_and_records_every_exit(tmp_path):
    blocks = [
        ShellBlock("p.md", 1, "sh", [(2, "X=<value>"), (3, 'test "$X" = filled'), (4, "false")])
    ]
    script, steps = page_script(blocks, {"<value>": "filled"}, tmp_path)
    subprocess.run(["bash", "-c", script], check=False, timeout=30)  # noqa: S603, S607 our script
    assert len(steps) == 3
    assert (tmp_path / "results").read_text().split("\n")[:3] == ["0 0", "1 0", "2 1"]
