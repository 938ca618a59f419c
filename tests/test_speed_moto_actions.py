"""Differential test: the one-name check agrees with moto's member listing on every handler."""

from __future__ import annotations

import importlib

import pytest
from moto.core.responses import BaseResponse
from moto.core.utils import method_names_from_class as moto_method_names

from slsops.local.speed import moto_actions

SERVICES = ["dynamodb", "sts", "iam", "kms", "awslambda", "apigateway", "s3", "sns", "logs"]


def _handler_classes() -> list[type]:
    classes = []
    for service in SERVICES:
        module = importlib.import_module(f"moto.{service}.responses")
        classes += [
            value
            for value in vars(module).values()
            if isinstance(value, type) and issubclass(value, BaseResponse)
        ]
    return classes


@pytest.mark.parametrize("cls", _handler_classes(), ids=lambda c: f"{c.__module__}.{c.__name__}")
def test_membership_equals_moto_listing(cls: type) -> None:
    listed = set(moto_method_names(cls))
    fast = moto_actions.method_names_from_class(cls)
    candidates = listed | set(dir(cls)) | {"put_item", "query", "no_such_action", "__init__"}
    for name in candidates:
        assert (name in fast) == (name in listed), name
    assert set(fast) == listed


def test_a_method_added_later_is_seen() -> None:
    class Handler(BaseResponse):
        def one(self) -> None: ...

    fast = moto_actions.method_names_from_class(Handler)
    assert "two" not in fast
    Handler.two = lambda self: None  # type: ignore[attr-defined]
    assert "two" in fast and "two" in moto_method_names(Handler)
