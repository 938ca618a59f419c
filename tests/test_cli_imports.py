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
    loaded = modules_after("from slsops.cli import app")
    assert "slsops.local.fault_admin" in loaded  # `slsops local faults` is registered
    assert not {name for name in loaded if name == "moto" or name.startswith("moto.")}


def test_a_command_line_loads_only_the_command_it_names() -> None:
    """``slsops local ...`` loads the local commands (and ``faults``, which joins them), not
    verify's, audit's or the drill's; ``--help`` and a typo load every command."""
    run = "from slsops import cli\nimport sys\nsys.argv = {}\ncli._for_arguments(sys.argv[1:])"
    local = modules_after(run.format(["slsops", "local", "status"]))
    assert {"slsops.commands.local", "slsops.commands.faults"} <= local
    assert not {"slsops.commands.verify", "slsops.commands.audit", "slsops.commands.drill"} & local
    for arguments in (["slsops", "--help"], ["slsops", "verfy"]):
        every = modules_after(run.format(arguments))
        assert {f"slsops.commands.{name}" for name in ("verify", "audit", "drill")} <= every


def test_the_server_still_wraps_moto_with_every_gap() -> None:
    from slsops.local import gaps

    loaded = modules_after("from slsops.local import gaps\ngaps.wrap_all(lambda e, s: [])")
    assert len(gaps.MIDDLEWARES) == 10
    assert {f"slsops.local.gaps.{name}" for name in gaps.MIDDLEWARES} <= loaded
