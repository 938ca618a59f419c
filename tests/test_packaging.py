"""The Lambda zip is reproducible and mirrors the service package (tools/slsops/packaging.py).

The dependencies come from the cache under build/lambda-deps (filled once with pip; later
runs are offline).
"""

from __future__ import annotations

import os
import shutil
import sys
import zipfile
from pathlib import Path

import pytest

from slsops import packaging

SERVICE = packaging.SERVICE_DIR


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return packaging.build_lambda_zip(tmp_path_factory.mktemp("zip") / "first.zip")


def test_building_twice_gives_identical_bytes(built: Path, tmp_path: Path) -> None:
    second = packaging.build_lambda_zip(tmp_path / "second.zip")
    assert second.read_bytes() == built.read_bytes()


def test_file_times_do_not_change_the_zip(built: Path, tmp_path: Path) -> None:
    copy = tmp_path / "service"
    shutil.copytree(SERVICE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    for path in copy.rglob("*"):
        os.utime(path, (1_700_000_000, 1_700_000_000))
    other = packaging.build_lambda_zip(tmp_path / "other.zip", service_dir=copy)
    assert other.read_bytes() == built.read_bytes()


def test_zip_mirrors_the_service_package(built: Path) -> None:
    package = SERVICE / packaging.PACKAGE_NAME
    expected = {
        f"log_service/{p.relative_to(package).as_posix()}"
        for p in package.rglob("*.py")
        if "__pycache__" not in p.parts
    }
    with zipfile.ZipFile(built) as zf:
        names = set(zf.namelist())
        in_package = {n for n in names if n.startswith("log_service/") and n.endswith(".py")}
        assert in_package == expected
        assert zf.read("log_service/openapi.json") == (SERVICE / "openapi.json").read_bytes()
        for handler in ("ingest_handler.py", "read_handler.py"):
            assert ((package / handler).exists()) == (f"log_service/{handler}" in names)


def test_zip_carries_the_runtime_dependencies(built: Path) -> None:
    with zipfile.ZipFile(built) as zf:
        names = set(zf.namelist())
    assert "aws_lambda_powertools/__init__.py" in names
    assert "fastjsonschema/__init__.py" in names  # the validation extra
    version = packaging.runtime_requirements()[0].split("==")[1]
    assert f"aws_lambda_powertools-{version}.dist-info/METADATA" in names


def test_zip_entries_are_normalised(built: Path) -> None:
    with zipfile.ZipFile(built) as zf:
        infos = zf.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names)
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".pyo"))]
    assert not [n for n in names if n.startswith("bin/")]
    assert {i.date_time for i in infos} == {packaging.FIXED_DATE_TIME}
    assert {(i.external_attr >> 16) & 0o777 for i in infos} == {packaging.FILE_MODE}


def test_missing_api_document_is_one_clear_error(tmp_path: Path) -> None:
    service = tmp_path / "service"
    shutil.copytree(SERVICE / "log_service", service / "log_service")
    with pytest.raises(packaging.PackagingError, match="no API document"):
        packaging.build_lambda_zip(tmp_path / "x.zip", service_dir=service)


def test_a_concurrent_install_never_removes_a_complete_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes filling the same dependency cache (parallel test workers' stacks): the one
    that finishes second keeps the first's folder, which another may be zipping from."""
    install = 'import pathlib, sys; pathlib.Path(sys.argv[1], "dep.py").write_text("x = 1")'

    def installer(target: Path, _requirements: list[str]) -> list[str]:
        return [sys.executable, "-c", install, str(target)]

    monkeypatch.setattr(packaging, "_installer", installer)
    first = packaging.install_dependencies(["dep==1"], tmp_path)
    inode = first.stat().st_ino
    (first / ".complete").unlink()  # this process looks before the other has finished
    original = packaging._publish

    def publish_after_the_other(partial: Path, target: Path) -> None:
        (target / ".complete").write_text("dep==1\n")  # the other finishes while pip runs
        original(partial, target)

    monkeypatch.setattr(packaging, "_publish", publish_after_the_other)
    assert packaging.install_dependencies(["dep==1"], tmp_path) == first
    assert first.stat().st_ino == inode, "the complete cache folder was replaced"
    assert sorted(p.name for p in tmp_path.iterdir()) == [first.name]  # no partial left
