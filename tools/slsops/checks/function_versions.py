"""How the FN-* checks read a function: by its stack name, as $LATEST and as the alias's version.

A function's settings are read twice: as ``$LATEST`` holds them (what the next publish ships)
and as the version behind the alias holds them (what API Gateway invokes, labelled
``<key>@<alias>``), so a bad release moved onto the alias fails as surely as drift on
``$LATEST``.
"""

from __future__ import annotations

from typing import Any

from slsops import contract
from slsops.deployment.verify_context import StackContext


def function_name(ctx: StackContext, key: str) -> str:
    """The deployed name of the contract's function ``key`` (from the stack outputs)."""
    return str(ctx.stack[f"{key}_function_name"])


def function_config(ctx: StackContext, key: str) -> dict[str, Any]:
    """$LATEST's configuration of the function ``key``."""
    return ctx.call("lambda", "get_function_configuration", FunctionName=function_name(ctx, key))


def live_function_config(ctx: StackContext, key: str) -> dict[str, Any]:
    """The configuration of the version the alias points at ({} when there is no alias)."""
    alias = contract.FUNCTIONS[key].alias
    try:
        return ctx.call(
            "lambda",
            "get_function_configuration",
            FunctionName=function_name(ctx, key),
            Qualifier=alias,
        )
    except ctx.client("lambda").exceptions.ResourceNotFoundException:
        return {}


def function_versions(ctx: StackContext, key: str) -> dict[str, dict[str, Any]]:
    """``{"<key>": $LATEST's configuration, "<key>@<alias>": the live version's}``."""
    alias = contract.FUNCTIONS[key].alias
    return {key: function_config(ctx, key), f"{key}@{alias}": live_function_config(ctx, key)}
