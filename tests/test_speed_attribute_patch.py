"""Each one-attribute speed patch puts its replacement where moto looks, and takes it back."""

from __future__ import annotations

import pytest

from slsops.local import speed
from slsops.local.speed import (
    dynamodb_direct,
    dynamodb_json,
    dynamodb_results,
    moto_actions,
    moto_backends,
    moto_request_parse,
    shared_parse,
)

PATCHES = [
    dynamodb_json,
    dynamodb_results,
    moto_actions,
    moto_request_parse,
    shared_parse,
    dynamodb_direct,
    moto_backends,
]


@pytest.mark.parametrize("module", PATCHES, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_install_and_uninstall_swap_the_attribute(module) -> None:
    patch = module.PATCH
    target = patch.target()
    module.uninstall()
    try:
        moto_own = getattr(target, patch.attribute)
        assert moto_own is not patch.replacement and patch.original is moto_own
        module.install()
        module.install()  # idempotent: the original is still moto's, not the replacement
        assert getattr(target, patch.attribute) is patch.replacement
        assert patch.original is moto_own
        module.uninstall()
        assert getattr(target, patch.attribute) is moto_own
    finally:
        module.install()  # the rest of the session runs with every patch, as the stack does


def test_every_attribute_patch_is_applied_by_speed_install() -> None:
    assert set(PATCHES) <= set(speed.PATCHES)
