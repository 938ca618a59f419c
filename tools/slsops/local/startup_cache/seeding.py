"""Seeding moto's random source, so a replay creates the same ids as the recorded apply.

moto draws every generated id (role ids, key ids, API ids) from one random source. Seeded
identically before the apply and before its replay, both draw the same sequence; afterwards the
source is reseeded from the system so nothing a client later gets is predictable.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

SEED = 20260101


def seed_moto() -> None:
    """Make moto's generated ids deterministic from here on (as ``/moto-api/seed`` does)."""
    from moto.moto_api._internal import mock_random

    mock_random.seed(SEED)


def unseed_moto() -> None:
    """Back to unpredictable ids and keys (the system's entropy)."""
    from moto.moto_api._internal import mock_random

    mock_random.seed(None)


def _sessions() -> list[tuple[Any, Any]]:
    """(STS backend, assumed-role session) for every session moto's STS has issued."""
    from moto.sts.models import sts_backends

    return [
        (backend, session)
        for _account, by_partition in list(sts_backends.items())
        for backend in list(by_partition.values())
        for session in list(backend.assumed_roles)
    ]


def create_lazy_defaults(account_id: str, region: str) -> None:
    """Create now what moto creates on first sight: the AWS-managed KMS keys (``alias/aws/*``).

    The authorisation layer looks keys up in moto to name a request's resources, and that
    lookup creates a default key, drawing an id outside any recorded request; the replay,
    which bypasses the layer, would draw it elsewhere. Created at the same point of both runs,
    they get the same ids and no one draws for them later.
    """
    from moto.kms.models import kms_backends
    from moto.kms.utils import RESERVED_ALIASES

    backend = kms_backends[account_id][region]
    for alias in sorted(RESERVED_ALIASES):
        backend.get_key_id_from_alias(alias)


@contextlib.contextmanager
def seeded(account_id: str = "123456789012", region: str = "us-east-1") -> Iterator[None]:
    """Seed moto for the apply or its replay; afterwards reseed it from the system and drop the
    STS sessions issued meanwhile: their keys came from the seeded sequence, so anyone could
    compute them (the apply's deploy-role session; later plans sign in afresh).
    """
    before = {id(session) for _backend, session in _sessions()}
    seed_moto()
    create_lazy_defaults(account_id, region)
    try:
        yield
    finally:
        unseed_moto()
        for backend, session in _sessions():
            if id(session) not in before:
                with contextlib.suppress(ValueError):
                    backend.assumed_roles.remove(session)
