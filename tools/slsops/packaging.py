"""Build the Lambda package: one reproducible zip for both functions.

The zip holds ``service/log_service/*.py`` as ``log_service/``, the API document
``service/openapi.json`` as ``log_service/openapi.json``, and the runtime dependency
aws-lambda-powertools (with its validation extra) at the version ``pyproject.toml`` pins,
installed for Lambda's platform (CPython 3.12, manylinux2014 x86_64, wheels only).

Reproducible: entries sorted, fixed timestamps and permissions, no ``__pycache__``; building
twice gives byte-identical zips, so ``source_code_hash`` changes only when the code does.
The dependencies are installed once into a cache folder under ``build/`` keyed by their
specification, so later builds work offline.

``python -m slsops.packaging [OUT]`` prints the zip path and its sha256.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICE_DIR = ROOT / "service"
PACKAGE_NAME = "log_service"
DEFAULT_OUT = ROOT / "build" / "lambda" / "log_service.zip"
DEPS_CACHE = ROOT / "build" / "lambda-deps"

LAMBDA_PLATFORM = "manylinux2014_x86_64"
LAMBDA_PYTHON = "3.12"
RUNTIME_DISTRIBUTION = "aws-lambda-powertools"

# 1980-01-01, the earliest time a zip entry can carry.
FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o644
EXCLUDED_PARTS = {"__pycache__"}
EXCLUDED_SUFFIXES = {".pyc", ".pyo"}
EXCLUDED_TOP_LEVEL = {"bin"}  # console scripts pip writes with --target; useless in Lambda


class PackagingError(RuntimeError):
    """The package cannot be built; the message says why in one line."""


def runtime_requirements(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """The runtime dependency specifications the zip carries, exactly as pyproject pins them."""
    data = tomllib.loads(pyproject.read_text())
    pattern = re.compile(rf"^{re.escape(RUNTIME_DISTRIBUTION)}(\[[^\]]*\])?==")
    found = [dep for dep in data["project"]["dependencies"] if pattern.match(dep)]
    if not found:
        raise PackagingError(f"pyproject.toml pins no {RUNTIME_DISTRIBUTION}==VERSION")
    return found


def _installer(target: Path, requirements: list[str]) -> list[str]:
    """pip of the current interpreter, or uv when this environment has no pip (uv venvs)."""
    platform_args = [
        "--target",
        str(target),
        "--only-binary",
        ":all:",
        "--python-version",
        LAMBDA_PYTHON,
        "--implementation",
        "cp",
    ]
    if importlib.util.find_spec("pip") is not None:
        return [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
            "--platform",
            LAMBDA_PLATFORM,
            *platform_args,
            *requirements,
        ]
    uv = shutil.which("uv")
    if uv is None:
        raise PackagingError("neither pip nor uv is available to install the Lambda dependencies")
    return [
        uv,
        "pip",
        "install",
        "--quiet",
        "--python-platform",
        "x86_64-manylinux2014",
        "--target",
        str(target),
        "--only-binary",
        ":all:",
        "--python-version",
        LAMBDA_PYTHON,
        *requirements,
    ]


def install_dependencies(requirements: list[str], cache_root: Path = DEPS_CACHE) -> Path:
    """Install ``requirements`` for Lambda into a cache folder (reused when already complete)."""
    key = hashlib.sha256(
        "\n".join([LAMBDA_PLATFORM, LAMBDA_PYTHON, *sorted(requirements)]).encode()
    ).hexdigest()[:16]
    target = cache_root / key
    complete = target / ".complete"
    if complete.exists():
        return target
    # One partial folder per process: concurrent builds (parallel test runs) never collide.
    partial = cache_root / f"{key}.{os.getpid()}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    command = _installer(partial, requirements)
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603  pip, argv list
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise PackagingError(f"installing {' '.join(requirements)} failed: {last}")
    (partial / ".complete").write_text("\n".join(requirements) + "\n")
    try:
        _publish(partial, target)
    finally:
        shutil.rmtree(partial, ignore_errors=True)  # left only when another process won
    return target


def _publish(partial: Path, target: Path) -> None:
    """Rename the finished ``partial`` to ``target``; a complete ``target`` already there stays
    (another process may be zipping from it right now)."""
    if not publish_folder(partial, target, lambda folder: (folder / ".complete").exists()):
        raise PackagingError(f"could not put the installed dependencies in place at {target}")


def publish_folder(staging: Path, final: Path, complete: Callable[[Path], bool]) -> bool:
    """Rename a finished ``staging`` folder to ``final``, which other processes may be reading.

    A complete ``final`` already there stays: ``rename`` refuses a non-empty target, and the
    caller removes its own ``staging``. One that is not complete is moved aside first, so no
    reader sees it half removed, then replaced. True when ``final`` is complete afterwards.
    """
    try:
        staging.rename(final)
        return True
    except OSError:
        if complete(final):
            return True
    aside = final.with_name(f".{final.name}.{os.getpid()}.replaced")
    try:
        final.rename(aside)
        staging.rename(final)
    except OSError:
        pass  # another process replaced or removed it meanwhile
    finally:
        shutil.rmtree(aside, ignore_errors=True)
    return complete(final)


def _wanted(relative: Path) -> bool:
    if EXCLUDED_PARTS.intersection(relative.parts):
        return False
    return relative.suffix not in EXCLUDED_SUFFIXES


def source_entries(service_dir: Path = SERVICE_DIR) -> dict[str, Path]:
    """Zip entry name -> file for the service code: the package's .py files and the API doc."""
    package = service_dir / PACKAGE_NAME
    if not package.is_dir():
        raise PackagingError(f"no package at {package}")
    entries = {
        f"{PACKAGE_NAME}/{path.relative_to(package).as_posix()}": path
        for path in package.rglob("*.py")
        if _wanted(path.relative_to(package))
    }
    openapi = service_dir / "openapi.json"
    if not openapi.is_file():
        raise PackagingError(f"no API document at {openapi}")
    entries[f"{PACKAGE_NAME}/openapi.json"] = openapi
    return entries


def dependency_entries(deps_dir: Path) -> dict[str, Path]:
    """Zip entry name -> file for the installed dependencies (without caches and scripts)."""
    entries = {}
    for path in deps_dir.rglob("*"):
        relative = path.relative_to(deps_dir)
        if not path.is_file() or relative.parts[0] in EXCLUDED_TOP_LEVEL:
            continue
        if relative.name in {".complete"} or not _wanted(relative):
            continue
        entries[relative.as_posix()] = path
    return entries


def write_zip(entries: dict[str, Path], out: Path) -> Path:
    """Write ``entries`` sorted, with fixed dates and modes, atomically to ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f"{out.name}.{os.getpid()}.partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o100000 | FILE_MODE) << 16
            info.create_system = 3  # Unix, so the mode above is honoured
            zf.writestr(info, entries[name].read_bytes(), compresslevel=9)
    os.replace(partial, out)
    return out


def build_lambda_zip(
    out: Path = DEFAULT_OUT,
    *,
    service_dir: Path = SERVICE_DIR,
    deps_cache: Path = DEPS_CACHE,
) -> Path:
    """Build the Lambda zip at ``out`` and return its path."""
    deps_dir = install_dependencies(runtime_requirements(), deps_cache)
    entries = dependency_entries(deps_dir)
    code = source_entries(service_dir)
    clash = sorted(set(entries) & set(code))
    if clash:
        raise PackagingError(f"dependency files collide with the service code: {clash[:3]}")
    entries.update(code)
    return write_zip(entries, out)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else DEFAULT_OUT
    try:
        path = build_lambda_zip(out)
    except PackagingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{path} {sha256_of(path)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
