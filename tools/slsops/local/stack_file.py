"""The local stack's stack file: ``terraform output -json`` plus the local-only outputs.

Written atomically once the whole stack serves requests, so a reader that sees the file can
use it. The outputs keep Terraform's shape (``{"name": {"value", "type", "sensitive"}}``).
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from slsops.framework.formats import write_atomically


def _output(value: Any, type_: Any, sensitive: bool = False) -> dict[str, Any]:
    return {"sensitive": sensitive, "type": type_, "value": value}


def local_outputs(
    tf_outputs: dict[str, Any],
    *,
    moto_url: str,
    api_port: int,
    access_key_id: str,
    secret_access_key: str,
    pid: int,
) -> dict[str, Any]:
    """The stack file content: Terraform's outputs, ``api_url`` pointed at the emulator."""
    outputs = dict(tf_outputs)
    stage = outputs["stage_name"]["value"]
    outputs["api_url"] = _output(f"http://127.0.0.1:{api_port}/{stage}", "string")
    outputs["local_endpoint_url"] = _output(moto_url, "string")
    outputs["local_credentials"] = _output(
        {"access_key_id": access_key_id, "secret_access_key": secret_access_key},
        ["object", {"access_key_id": "string", "secret_access_key": "string"}],
        sensitive=True,
    )
    outputs["local_pid"] = _output(pid, "number")
    outputs["local_api_port"] = _output(api_port, "number")
    return outputs


def write(path: Path, outputs: dict[str, Any]) -> None:
    write_atomically(path, json.dumps(outputs, indent=2, sort_keys=True) + "\n")
    with contextlib.suppress(OSError):
        os.chmod(path, 0o600)  # it holds the operator's secret key


def read_raw(path: Path) -> dict[str, Any] | None:
    """The file's outputs, or None when it is missing or unreadable (status, down)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def workdir_for(stack_path: Path) -> Path:
    """``.slsops/local.json`` -> ``.slsops/local/`` (Terraform copy, state, function logs)."""
    stack_path = Path(stack_path)
    return stack_path.parent / stack_path.stem
