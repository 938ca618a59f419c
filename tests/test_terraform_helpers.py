"""Finding terraform and its provider mirror (tools/slsops/terraform.py): one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from slsops import terraform


def test_missing_terraform_names_what_is_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(terraform.TERRAFORM_ENV, raising=False)
    monkeypatch.setenv("PATH", "")
    with pytest.raises(terraform.TerraformMissingError) as caught:
        terraform.find_terraform()
    message = str(caught.value)
    assert "\n" not in message and "Terraform >= 1.6" in message


def test_configured_terraform_must_be_executable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(terraform.TERRAFORM_ENV, str(tmp_path / "nope"))
    with pytest.raises(terraform.TerraformMissingError, match="not an executable"):
        terraform.find_terraform()
    binary = tmp_path / "terraform"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    monkeypatch.setenv(terraform.TERRAFORM_ENV, str(binary))
    assert terraform.find_terraform() == binary


def test_plugin_dir_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(terraform.PLUGIN_DIR_ENV, str(tmp_path))
    with pytest.raises(terraform.TerraformMissingError, match="hashicorp/aws"):
        terraform.plugin_dir()
    (tmp_path / terraform.AWS_PROVIDER_SUBDIR).mkdir(parents=True)
    assert terraform.plugin_dir() == tmp_path
    assert f"-plugin-dir={tmp_path}" in terraform.init_args(tmp_path)


def test_no_mirror_means_registry(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(terraform.PLUGIN_DIR_ENV, raising=False)
    monkeypatch.setattr(terraform, "DEFAULT_PLUGIN_DIRS", (tmp_path / "absent",))
    assert terraform.plugin_dir() is None
    assert not [a for a in terraform.init_args(None) if a.startswith("-plugin-dir")]


def test_env_uses_own_cli_config_and_data_dir(tmp_path: Path) -> None:
    env = terraform.terraform_env(tmp_path / "work", base={"TF_CLI_CONFIG_FILE": "/missing"})
    assert Path(env["TF_CLI_CONFIG_FILE"]).is_file()
    assert env["TF_DATA_DIR"].startswith(str((tmp_path / "work").resolve()))
    assert env["TF_INPUT"] == "0"


def test_copy_config_leaves_out_overrides(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "main.tf").write_text("# main\n")
    (source / "local_override.tf").write_text("# override\n")
    dest = terraform.copy_config(source, tmp_path / "dest")
    assert sorted(p.name for p in dest.iterdir()) == ["main.tf"]
