"""Generated requests from service/openapi.json against a stack's API (``nox -s fuzz``).

schemathesis (4.x) generates cases for ``POST /logs`` and ``GET /logs/recent``, valid ones
(positive mode) and invalid ones (negative mode), with a fixed seed so a run repeats. Each case
is sent SigV4-signed over the exact bytes sent (ingest role for POST, read role for GET), and:

* no 5xx (schemathesis' ``not_a_server_error``);
* the status code, content type and body match the document (``status_code_conformance``,
  ``content_type_conformance``, ``response_schema_conformance``);
* every entry a 201/207 says it stored can be read back unchanged through the API: its marker
  (``log_service.keys.marker_key``) names its sort key, and ``GET /logs/recent`` with that
  service and timestamp must return it with the level, log type, message and metadata the
  handler's own parser makes of what was sent;
* every 4xx wrote nothing: no marker exists for a log_id it carried;
* every entry answered ``stored`` is in the table exactly once: at the end each of those
  log_ids is looked up by its own key (its marker, the log item the marker names, and a query
  of its service partition for that log_id), so what others write to the table meanwhile does
  not count and no scan of the table is needed;
* every case asked ran: when the time budget ends generation early, or generation runs dry,
  the figures say how many of how many (``asked``) and are not ``ok``;
* no correctly signed request is refused (a 403 there is a signing or gateway bug).

Query strings are encoded as SigV4 canonicalises them before signing; generated header names
holding ``_`` are not sent (the emulator, being WSGI, cannot tell them from ``-``).

Run: ``python -m slsops.harness.fuzz [--stack FILE] [--cases N] [--seed S] [--max-seconds T]
[--output FILE]`` (exit 0 all held, 1 a check failed, 2 usage, 3 unreachable). Without
``--stack`` a local stack is started for the run and stopped after it (``nox -s fuzz``).
The pieces: signing (:mod:`.fuzz_signing`), repaired bodies (:mod:`.fuzz_repair`), the
stored-entry checks (:mod:`.stored_entries`), the figures (:mod:`.fuzz_figures`).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from log_service import keys
from log_service.settings import Settings
from slsops import contract
from slsops.commands.common import refuse_same_file
from slsops.deployment.api_client import assume_role
from slsops.deployment.stack import Stack
from slsops.errors import SlsopsError, UsageError
from slsops.framework.formats import refuse_directory, write_atomically
from slsops.harness.fuzz_figures import FuzzFigures, print_figures
from slsops.harness.fuzz_repair import entries_of, repair_body
from slsops.harness.fuzz_signing import BotocoreSigV4, canonical_query
from slsops.harness.stored_entries import (
    TIMEOUT,
    marker,
    read_back_problem,
    stored_once_problem,
)
from slsops.local.ephemeral import stack_for_run

DOCUMENT = Path(__file__).resolve().parents[3] / "service" / "openapi.json"
DEFAULT_CASES = 2000
DEFAULT_MAX_SECONDS = 900.0
MAX_READBACKS = 600
READBACKS_PER_RESPONSE = 3  # first, middle and last stored entry of a batch
# Share of the cases per (method, path, generation mode).
# "repaired": positive cases whose fields the document cannot constrain (patterns of
# service_name and log_id, the level set, the clock window) are made acceptable, so that the
# storage round trip sees generated messages, log types and metadata, not only 400s.
PLAN = (
    ("POST", "/logs", "positive", 0.20),
    ("POST", "/logs", "repaired", 0.25),
    ("POST", "/logs", "negative", 0.15),
    ("GET", "/logs/recent", "positive", 0.25),
    ("GET", "/logs/recent", "negative", 0.15),
)


class _OutOfTime(Exception):
    """Raised inside a hypothesis test to stop generating when the time budget is spent."""


class _Enough(Exception):
    """Raised inside a hypothesis test when an operation has run its share of the cases."""


# Generation of one operation is repeated with the next seed when hypothesis stops short of
# the share (it does not repeat an example, and some operations have few distinct ones).
MAX_ROUNDS_PER_OPERATION = 5


class Fuzzer:
    """Sends generated cases to one stack and checks each answer (see the module docstring)."""

    def __init__(self, stack: Stack, deadline: float) -> None:
        import schemathesis
        from schemathesis.checks import not_a_server_error
        from schemathesis.specs.openapi.checks import (
            content_type_conformance,
            response_schema_conformance,
            status_code_conformance,
        )

        self.stack = stack
        self.deadline = deadline
        self.schema = schemathesis.openapi.from_path(str(DOCUMENT))
        self.checks = [
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ]
        self.figures = FuzzFigures()
        self.settings = Settings(
            table_name=str(stack["table_name"]), shard_count=int(stack["shard_count"])
        )
        self.table = stack.resource("dynamodb").Table(self.settings.table_name)
        self.auth = {
            method: BotocoreSigV4(assume_role(stack, role), stack.region)
            for method, role in contract.ROUTE_CLIENT_ROLES.items()
        }
        self.read_auth = self.auth["GET"]
        self.http = requests.Session()

    # ------------------------------------------------------------------ running
    def run(self, cases: int, seed: int) -> FuzzFigures:
        began = time.monotonic()
        shares = [(m, p, mode, max(1, round(cases * share))) for m, p, mode, share in PLAN]
        self.figures.asked = sum(examples for *_, examples in shares)
        try:
            for method, path, mode, examples in shares:
                self._run_share(method, path, mode, examples, seed)
        except _OutOfTime as stop:
            self.figures.stop_reason = str(stop)
            self.figures.note(str(stop))
        self.check_stored()
        self.figures.seconds = time.monotonic() - began
        return self.figures

    def _run_share(self, method: str, path: str, mode: str, examples: int, seed: int) -> None:
        """Exactly ``examples`` cases of one operation, over several seeds if need be."""
        target = self.figures.cases + examples
        for round_ in range(MAX_ROUNDS_PER_OPERATION):
            try:
                self._explore(self.schema[path][method], mode, target, seed + round_)
            except _Enough:
                return
            except _OutOfTime:
                raise _OutOfTime(
                    f"time budget spent during {method} {path} ({mode}) after "
                    f"{self.figures.cases} of {self.figures.asked} cases"
                ) from None
            if self.figures.cases >= target:
                return
        self.figures.stop_reason = (
            f"generation of {method} {path} ({mode}) ran dry after {MAX_ROUNDS_PER_OPERATION} seeds"
        )
        self.figures.note(self.figures.stop_reason)

    def _explore(self, operation: Any, mode: str, target: int, seed: int) -> None:
        """Generated cases of one operation, each sent and checked, until ``figures.cases``
        reaches ``target`` (:class:`_Enough`) or the deadline passes (:class:`_OutOfTime`)."""
        from hypothesis import HealthCheck, Phase, given, settings
        from hypothesis import seed as fixed_seed
        from schemathesis import GenerationMode

        negative = mode == "negative"
        strategy = operation.as_strategy(
            generation_mode=GenerationMode.NEGATIVE if negative else GenerationMode.POSITIVE
        )

        @fixed_seed(seed)
        @settings(
            max_examples=max(1, target - self.figures.cases),
            database=None,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def explore(case: Any) -> None:
            if self.figures.cases >= target:
                raise _Enough
            if time.monotonic() > self.deadline:
                raise _OutOfTime
            try:
                if mode == "repaired":
                    case.body = repair_body(case.body)
                self.one(case)
            except Exception as exc:  # a bug of this harness: counted, never hidden
                self.figures.harness_errors += 1
                self.figures.note(f"harness error: {type(exc).__name__}: {exc}")

        explore()

    def one(self, case: Any) -> None:
        """Send one case, run the document checks and this project's own."""
        from schemathesis.core.failures import FailureGroup  # the fuzz extra, imported late

        figures = self.figures
        figures.cases += 1
        kwargs = case.as_transport_kwargs(base_url=self.stack.api_url)
        kwargs.pop("cookies", None)
        method = kwargs.pop("method")
        url = kwargs.pop("url") + canonical_query(kwargs.pop("params", None))
        # WSGI cannot tell "_" from "-" in header names (both arrive as "_"), so a signed
        # header named with "_" never verifies in the emulator: such generated headers are
        # not sent (API Gateway itself accepts them: an emulator limitation, reported).
        kwargs["headers"] = {k: v for k, v in kwargs["headers"].items() if "_" not in k}
        # Server write times at or after this (1 s of slack for clock rounding) are this case's.
        self._sent_at = keys.format_timestamp(datetime.now(UTC) - timedelta(seconds=1))
        try:
            response = self.http.request(
                method, url, auth=self.auth[method.upper()], timeout=TIMEOUT, **kwargs
            )
        except requests.RequestException as exc:
            figures.server_errors += 1
            figures.note(f"{method} {url}: no answer: {exc}")
            return
        status = response.status_code
        figures.statuses[status] += 1
        if status >= 500:
            figures.server_errors += 1
        if status == 403:
            figures.auth_rejected += 1  # the gateway refused a signed request: say why
            figures.note(f"403 for a signed {method}: {response.text[:200]}")
        try:
            case.validate_response(response, checks=self.checks)
        except (Exception, FailureGroup) as exc:  # FailureGroup is a BaseExceptionGroup
            if status < 500:
                figures.nonconforming += 1
            figures.note(f"{method} {response.request.url} -> {status}: {_first_line(exc)}")
        if method.upper() == "POST":
            self._after_post(case, status, response)

    # ------------------------------------------------------------------ our checks
    def _after_post(self, case: Any, status: int, response: requests.Response) -> None:
        body = case.body if isinstance(case.body, dict) else None
        entries = entries_of(body)
        if status in (201, 207):
            try:
                answer = response.json()
            except ValueError:
                return
            rows = answer.get("results") or [
                {"index": 0, "log_id": answer.get("log_id"), "status": self._single_status(answer)}
            ]
            written = [r for r in rows if r.get("status") in ("stored", "duplicate")]
            self.figures.stored_entries += sum(r.get("status") == "stored" for r in written)
            for row in written:
                self._stored_ids.add(str(row.get("log_id")))
                if row.get("status") == "stored":
                    self.new_ids.append(str(row.get("log_id")))
            picks = {0, len(written) // 2, len(written) - 1} if written else set()
            for pick in sorted(picks)[:READBACKS_PER_RESPONSE]:
                row = written[pick]
                index = row.get("index", 0)
                if isinstance(index, int) and 0 <= index < len(entries):
                    self._read_back(entries[index], str(row.get("log_id")))
        elif 400 <= status < 500:
            for entry in entries:
                log_id = entry.get("log_id", entry.get("id")) if isinstance(entry, dict) else None
                if (
                    isinstance(log_id, str)
                    and keys.LOG_ID_PATTERN.match(log_id)
                    and not self._known(log_id)
                    and self._marker(log_id) is not None
                ):
                    self.figures.writes_on_4xx += 1
                    self.figures.note(f"{status} answered but log_id {log_id} was written")

    def _single_status(self, answer: dict[str, Any]) -> str:
        """A single entry's 201 does not say whether it was new: its marker's write time does."""
        log_id = str(answer.get("log_id"))
        if log_id in self._stored_ids:
            return "duplicate"
        found = self._marker(log_id) or {}
        written = str(found.get("ingested_at", ""))
        return "stored" if written >= self._sent_at else "duplicate"

    def _known(self, log_id: str) -> bool:
        return log_id in self._stored_ids

    @property
    def _stored_ids(self) -> set[str]:
        if not hasattr(self, "_ids"):
            self._ids: set[str] = set()
        return self._ids

    @property
    def new_ids(self) -> list[str]:
        """log_ids this run was answered ``stored`` for (new entries), in order."""
        if not hasattr(self, "_new_ids"):
            self._new_ids: list[str] = []
        return self._new_ids

    def _marker(self, log_id: str) -> dict[str, Any] | None:
        return marker(self.table, log_id)

    def _read_back(self, sent: Any, log_id: str) -> None:
        """GET the entry through the API by its service and timestamp; compare with the input."""
        figures = self.figures
        if figures.readbacks >= MAX_READBACKS:
            return
        figures.readbacks += 1
        problem = self._read_back_problem(sent, log_id)
        if problem:
            figures.readback_failures += 1
            figures.note(f"read-back of {log_id}: {problem}")

    def _read_back_problem(self, sent: Any, log_id: str) -> str | None:
        return read_back_problem(
            self.http,
            self.stack.api_url,
            self.read_auth,
            self.table,
            self.settings,
            sent,
            log_id,
        )

    def check_stored(self) -> None:
        """Each entry answered ``stored`` is in the table exactly once, found by its own ids."""
        for log_id in self.new_ids:
            problem = stored_once_problem(self.table, log_id)
            if problem:
                self.figures.stored_mismatch += 1
                self.figures.note(f"stored entry {log_id}: {problem}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return " | ".join(line.strip() for line in text[:6] if line.strip())


def run(stack: Stack, cases: int, seed: int, max_seconds: float) -> FuzzFigures:
    """Fuzz ``stack``'s API with about ``cases`` generated cases; figures of what was seen."""
    fuzzer = Fuzzer(stack, time.monotonic() + max_seconds)
    return fuzzer.run(cases, seed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m slsops.harness.fuzz",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--stack", type=Path, help="stack file (default: start a local stack)")
    parser.add_argument("--cases", type=int, default=DEFAULT_CASES)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--max-seconds", type=float, default=DEFAULT_MAX_SECONDS)
    parser.add_argument("--output", type=Path, help="write the figures as JSON here")
    args = parser.parse_args(argv)
    try:
        if not 1 <= args.cases <= 1_000_000:
            raise UsageError("--cases must be 1..1000000")
        if not math.isfinite(args.max_seconds) or args.max_seconds <= 0:
            raise UsageError("--max-seconds must be a number of seconds above 0")
        # The figures are written after the run: a path that cannot take them is found first.
        refuse_directory(args.output)
        refuse_same_file({"--stack": args.stack, "--output": args.output})
        with stack_for_run(args.stack, "fuzz") as stack:
            figures = run(stack, args.cases, args.seed, args.max_seconds)
    except SlsopsError as exc:
        print(f"slsops fuzz: error: {exc}", file=sys.stderr)
        return exc.exit_code
    print_figures(figures)
    if args.output:
        write_atomically(args.output, json.dumps(figures.as_dict(), indent=2))
    return 0 if figures.ok else 1


if __name__ == "__main__":
    sys.exit(main())
