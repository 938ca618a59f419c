"""Which method of a deployment serves a request, and does the request pass its validator?

Routing is API Gateway's: the most specific resource whose template fits the path (literal
segments before ``{param}``, a greedy ``{proxy+}`` last), then its method or ``ANY``; no
fallback to a less specific resource. Validation is the method's request validator: required
parameters first, then the body against the model of its content type (JSON Schema draft-04).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from slsops.local.deployment_snapshot import DeploymentSnapshot, MethodSnapshot
from slsops.local.gateway_http import GatewayAnswer, missing_token
from slsops.local.proxy_event import RouteMatch

# --------------------------------------------------------------------------- routing


def _match_template(template: str, path: str) -> dict[str, str] | None:
    """Path parameters when ``path`` fits the resource template, else None."""
    t_parts = [p for p in template.split("/") if p]
    p_parts = [p for p in path.split("/") if p]
    params: dict[str, str] = {}
    for index, part in enumerate(t_parts):
        if part.startswith("{") and part.endswith("+}"):
            rest = p_parts[index:]
            if not rest:
                return None
            params[part[1:-2]] = "/".join(rest)
            return params
        if index >= len(p_parts):
            return None
        if part.startswith("{") and part.endswith("}"):
            params[part[1:-1]] = p_parts[index]
        elif part != p_parts[index]:
            return None
    return params if len(t_parts) == len(p_parts) else None


def _specificity(template: str) -> tuple[int, int]:
    parts = [p for p in template.split("/") if p]
    greedy = any(p.endswith("+}") for p in parts)
    literal = sum(1 for p in parts if not p.startswith("{"))
    return (0 if greedy else 1, literal)


def resolve_route(
    snapshot: DeploymentSnapshot, method: str, path: str
) -> tuple[RouteMatch, MethodSnapshot]:
    """The most specific resource matching ``path`` and its method (or ANY); else 403."""
    candidates = []
    for resource in snapshot.resources:
        params = _match_template(resource.path, path)
        if params is not None:
            candidates.append((_specificity(resource.path), resource, params))
    for _, resource, params in sorted(candidates, key=lambda c: c[0], reverse=True):
        chosen = resource.methods.get(method) or resource.methods.get("ANY")
        if chosen is not None:
            return RouteMatch(resource.resource_id, resource.path, params), chosen
        break  # the best-matching resource lacks the method: API Gateway does not fall back
    raise missing_token()


# --------------------------------------------------------------------------- validation


@lru_cache(maxsize=64)
def _compiled_schema(schema_json: str) -> Callable[[Any], Any]:
    import fastjsonschema

    return fastjsonschema.compile(json.loads(schema_json))


def validate_request(
    snapshot: DeploymentSnapshot,
    method: MethodSnapshot,
    query: dict[str, list[str]],
    headers: dict[str, str],
    path_params: dict[str, str],
    content_type: str,
    body: bytes,
) -> None:
    """The method's request validator: required parameters, then the body model."""
    validator = snapshot.validators.get(method.request_validator_id or "")
    if validator is None:
        return
    if validator.validate_parameters:
        missing = []
        for name, required in method.request_parameters.items():
            if not required:
                continue
            _, _, where_name = name.partition("method.request.")
            where, _, key = where_name.partition(".")
            present = (
                (where == "querystring" and key in query)
                or (where == "header" and key.lower() in headers)
                or (where == "path" and key in path_params)
            )
            if not present:
                missing.append(key)
        if missing:
            raise GatewayAnswer(
                400,
                f"Missing required request parameters: [{', '.join(missing)}]",
                "BadRequestException",
            )
    if validator.validate_body and method.request_models:
        media = content_type.split(";")[0].strip().lower() or "application/json"
        model = method.request_models.get(media) or method.request_models.get("$default")
        schema = snapshot.model_schemas.get(model or "")
        if not isinstance(schema, dict):
            return
        try:
            document = json.loads(body.decode("utf-8")) if body else None
            _compiled_schema(json.dumps(schema, sort_keys=True))(document)
        except Exception:
            raise GatewayAnswer(400, "Invalid request body", "BadRequestException") from None
