"""How the FN-* checks read a function: by its stack name, as $LATEST and as the alias's version.

A function's settings are read as ``$LATEST`` holds them (what the next publish ships) and as
each version behind the alias holds them (what API Gateway invokes: ``<key>@<alias>``, and
``<key>@<alias>+v<N>`` for a version a weighted alias sends a share of the traffic to), so a
bad release moved onto the alias, or routed a share of the traffic, fails as surely as drift
on ``$LATEST``.
"""

from __future__ import annotations

from typing import Any

from slsops import contract
from slsops.deployment.verify_context import StackContext


def function_name(ctx: StackContext, key: str) -> str:
    """The deployed name of the contract's function ``key`` (from the stack outputs)."""
    return str(ctx.stack[f"{key}_function_name"])


def function_log_group(ctx: StackContext, key: str) -> str:
    """The log group the deployed function ``key`` must log to (Lambda's default name)."""
    return f"/aws/lambda/{function_name(ctx, key)}"


def function_config(ctx: StackContext, key: str) -> dict[str, Any]:
    """$LATEST's configuration of the function ``key``."""
    return ctx.call("lambda", "get_function_configuration", FunctionName=function_name(ctx, key))


def routed_versions(alias: dict[str, Any]) -> dict[str, float]:
    """The other versions a weighted alias sends a share of the calls to (version -> share)."""
    return (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}


def _configuration(ctx: StackContext, name: str, qualifier: str) -> dict[str, Any]:
    """The configuration of one version or alias of the function ({} when there is none)."""
    try:
        return ctx.call(
            "lambda", "get_function_configuration", FunctionName=name, Qualifier=qualifier
        )
    except ctx.client("lambda").exceptions.ResourceNotFoundException:
        return {}


def live_function_configs(ctx: StackContext, key: str) -> dict[str, dict[str, Any]]:
    """Each version the alias sends traffic to: ``"<key>@<alias>"`` (its version) and, when
    its routing shares the traffic (a weighted alias), ``"<key>@<alias>+v<version>"`` for
    each other version; ``{"<key>@<alias>": {}}`` when there is no alias."""
    alias = contract.FUNCTIONS[key].alias
    name = function_name(ctx, key)
    try:
        described = ctx.call("lambda", "get_alias", FunctionName=name, Name=alias)
    except ctx.client("lambda").exceptions.ResourceNotFoundException:
        return {f"{key}@{alias}": {}}
    configs = {f"{key}@{alias}": _configuration(ctx, name, alias)}
    for version in sorted(routed_versions(described)):
        configs[f"{key}@{alias}+v{version}"] = _configuration(ctx, name, version)
    return configs


def function_versions(ctx: StackContext, key: str) -> dict[str, dict[str, Any]]:
    """``{"<key>": $LATEST's configuration, "<key>@<alias>": the live version's, ...}``, with
    every other version a weighted alias sends a share of the traffic to."""
    return {key: function_config(ctx, key), **live_function_configs(ctx, key)}
