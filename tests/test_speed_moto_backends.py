"""Backends of known accounts come straight from the dict (speed.moto_backends): the same object
moto returns, and a new or reset account still created and registered by moto's own path."""

from __future__ import annotations

import uuid

from moto.core.base_backend import BackendDict, backend_lock
from moto.sns.models import SNSBackend, sns_backends

from slsops.local.speed import moto_backends


def test_a_known_account_gives_the_backend_moto_gives() -> None:
    moto_backends.install()
    account = "2" + str(uuid.uuid4().int)[:11]
    first = sns_backends[account]  # unknown: moto's path creates it
    assert first is sns_backends[account]  # known: straight from the dict
    moto_backends.uninstall()
    try:
        assert sns_backends[account] is first  # moto's own lookup agrees
    finally:
        moto_backends.install()


def test_an_account_after_a_reset_is_created_and_registered_again() -> None:
    moto_backends.install()
    backends = BackendDict(SNSBackend, "sns")  # a dict of our own: no other test's state reset
    account = "3" + str(uuid.uuid4().int)[:11]
    backends[account]["us-east-1"].create_topic("kept-until-reset")
    assert backends in BackendDict._instances
    with backend_lock:  # what BackendDict.reset does to each dict it knows
        backends.clear()
        BackendDict._instances.remove(backends)
    fresh = backends[account]
    assert backends in BackendDict._instances  # registered again: the next reset empties it
    assert fresh["us-east-1"].topics == {}
    BackendDict._instances.remove(backends)
