"""``--severity``, ``--status`` and ``--fail-on`` for the argparse mains (the reliability job,
the load gate), meaning what they mean on every ``slsops`` command (slsops.options)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from slsops.commands.common import ReportFilters
from slsops.options import SEVERITIES, STATUSES


def add_report_filters(parser: argparse.ArgumentParser) -> None:
    """The three report options on ``parser``; values are checked by :func:`filters_from`."""
    parser.add_argument(
        "--severity",
        action="append",
        metavar="LEVEL",
        help=f"show only checks of these severities ({', '.join(SEVERITIES)}; repeatable or "
        "comma-separated); the summary and exit code still count every check",
    )
    parser.add_argument(
        "--status",
        action="append",
        metavar="STATUS",
        help=f"show only checks with these statuses ({', '.join(STATUSES)}; e.g. --status "
        "FAIL); the summary and exit code still count every check",
    )
    parser.add_argument(
        "--fail-on",
        metavar="SEVERITY",
        help="exit 1 only for a FAIL or ERROR of this severity or graver "
        "(default: any FAIL or ERROR)",
    )


def _split(values: Sequence[str] | None) -> list[str]:
    return [v.strip() for value in values or () for v in value.split(",") if v.strip()]


def filters_from(args: argparse.Namespace) -> ReportFilters:
    """The parsed options as :class:`ReportFilters`; raises UsageError (exit 2) on a value
    that is not a severity or a status."""
    filters = ReportFilters.of(
        severity=_split(args.severity), status=_split(args.status), fail_on=args.fail_on
    )
    filters.view()
    filters.threshold()
    return filters
