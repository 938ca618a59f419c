"""CI and developer sessions: one session per concern.

Run `python3 -m nox -l` to list them. Sessions that need the local stack start it
themselves and stop it when done. Environments are reused between runs (uv when present).
"""

from __future__ import annotations

import os
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
    """ruff check (incl. flake8-bandit security rules) and ruff format --check."""
    session.install("ruff==0.17.5")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The pytest suite (starts the local stack once per pytest session when needed)."""
    install_project(session, "test", "load")
    session.run("pytest", *session.posargs, env={"PYTHONUNBUFFERED": "1"})
