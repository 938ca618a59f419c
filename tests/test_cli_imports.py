"""The ``slsops`` command line starts without the embedded AWS.

Every on-call command and every step of the main job starts a Python process; moto's import
alone cost ~1 s of each (``slsops.local.gaps`` imported every gap to answer the fault client's
``ADMIN_PATH``). The server imports the gaps when it wraps moto.
"""

from __future__ import annotations

import subprocess
import sys


def modules_after(statement: str) -> set[str]:
    done = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", f"{statement}\nimport sys\nprint('\\n'.join(sys.modules))"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return set(done.stdout.split())


def test_the_command_line_does_not_import_moto() -> None:
    loaded = modules_after("import slsops.cli")
    assert "slsops.local.fault_admin" in loaded  # `slsops local faults` is registered
    assert not {name for name in loaded if name == "moto" or name.startswith("moto.")}


def test_the_server_still_wraps_moto_with_every_gap() -> None:
    from slsops.local import gaps

    loaded = modules_after("from slsops.local import gaps\ngaps.wrap_all(lambda e, s: [])")
    assert len(gaps.MIDDLEWARES) == 9
    assert {f"slsops.local.gaps.{name}" for name in gaps.MIDDLEWARES} <= loaded
