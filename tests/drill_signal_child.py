"""Child process of the drill's signal tests: ``slsops drill`` that pauses at a chosen phase.

    python drill_signal_child.py ENDPOINT TABLE PHASE READY_FILE -- slsops arguments...

At PHASE (a phase name, or ``restore-call``: inside the restore call, after AWS answered and
before the drill saw the answer) it writes READY_FILE and sleeps, so the test can send a real
signal then. The canaries go through the ingest code (``drill_support``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from drill_support import ServiceCanaryWriter

from slsops.commands import drill as drill_command
from slsops.drill import restore

PAUSE_S = 60.0


def main() -> None:
    endpoint, table, phase, ready = sys.argv[1:5]
    arguments = sys.argv[sys.argv.index("--") + 1 :]
    drill_command.canary_writer = lambda _stack: ServiceCanaryWriter(endpoint, table)

    def pause(*_args: object, **_kwargs: object) -> None:
        Path(ready).write_text(phase, encoding="utf-8")
        time.sleep(PAUSE_S)

    def at_phase(client: object, name: str, _table: object) -> None:
        if phase == "restore-call" and name == "restore":
            client.meta.events.register(  # type: ignore[attr-defined]
                "after-call.dynamodb.RestoreTableToPointInTime", pause
            )
        elif name == phase:
            pause()

    restore.PHASE_HOOKS.append(at_phase)
    sys.argv = ["slsops", *arguments]
    from slsops.cli import main as slsops_main

    slsops_main()


if __name__ == "__main__":
    main()
