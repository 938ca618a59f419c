"""API Gateway (REST) on loopback: serves the deployed API from the embedded AWS as AWS would.

For each request: find the stage and the method of its LAST DEPLOYMENT (snapshot taken at
CreateDeployment), enforce the gateway's limits, authenticate and authorize ``AWS_IAM`` methods
(``slsops.local.iam_gate``), apply the method's request validator, throttle as the stage's
method settings say, then run the ``AWS_PROXY`` integration's function in a local worker and map
its answer back. Everything is read from moto's backends in this process at request time, so a
change made in the embedded AWS (a new deployment with authorization NONE, another integration,
new function code) behaves changed.

Not emulated (documented in docs/local-stack.md): custom authorizers, API keys and usage plans,
non-proxy integrations and mapping templates, gateway responses customisation, caching, custom
domains, resource policies, WAF, CORS preflight generation.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from slsops.local import deployment_snapshot
from slsops.local.deployment_snapshot import DeploymentSnapshot, MethodSnapshot
from slsops.local.iam_gate import GateResult, RequestParts, check_iam
from slsops.local.lambda_workers import InvocationError, LambdaWorkers, function_spec_from_moto
from slsops.local.proxy_event import CallerIdentity, RouteMatch, build_event, map_response

log = logging.getLogger(__name__)

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway REST payload limit
_FUNCTION_IN_URI = re.compile(r"/functions/(?P<arn>arn:[^/]+)/invocations$")
_STAGE_VARIABLE = re.compile(r"\$\{stageVariables\.([A-Za-z0-9_]+)\}")


class GatewayAnswer(Exception):
    """An answer of the gateway itself: ``{"message": ...}`` with API Gateway's status."""

    def __init__(self, status: int, message: str, error_type: str) -> None:
        super().__init__(message)
        self.status, self.message, self.error_type = status, message, error_type


def _missing_token() -> GatewayAnswer:
    return GatewayAnswer(403, "Missing Authentication Token", "MissingAuthenticationTokenException")


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
    raise _missing_token()


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


# --------------------------------------------------------------------------- throttling


class _TokenBucket:
    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, max(burst, 1.0)
        self.tokens, self.updated = self.burst, time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


# --------------------------------------------------------------------------- the app


@dataclass
class ApiTarget:
    """The API the emulator serves; set once the apply has produced it."""

    api_id: str
    account_id: str
    region: str


class ApiGatewayEmulator:
    """A WSGI application serving one REST API's stages at ``/{stage}/...``."""

    def __init__(self, workers: LambdaWorkers, clock: Callable[[], float] = time.time) -> None:
        self.workers = workers
        self.clock = clock  # injectable: tests shift it to check signature expiry
        self.target: ApiTarget | None = None
        self._buckets: dict[tuple[str, str, str], _TokenBucket] = {}
        self._buckets_lock = threading.Lock()

    def serve_api(self, api_id: str, account_id: str, region: str) -> None:
        self.target = ApiTarget(api_id, account_id, region)

    # ---------------------------------------------------------------- moto lookups
    def _stage(self, stage_name: str) -> tuple[Any, DeploymentSnapshot]:
        if self.target is None:
            raise GatewayAnswer(503, "Service Unavailable", "ServiceUnavailableException")
        api = deployment_snapshot.find_rest_api(self.target.api_id)
        stage = api.stages.get(stage_name) if api is not None else None
        if stage is None or not stage.deployment_id:
            raise GatewayAnswer(403, "Forbidden", "ForbiddenException")
        snapshot = deployment_snapshot.get(api.id, stage.deployment_id)
        if snapshot is None:
            # Deployed before the snapshot gap was installed: serve the current configuration.
            snapshot = deployment_snapshot.record(api.id, stage.deployment_id)
        if snapshot is None:
            raise GatewayAnswer(403, "Forbidden", "ForbiddenException")
        return stage, snapshot

    def _throttle(self, stage: Any, route: RouteMatch, method: str) -> None:
        """The stage's method throttling (token bucket per method setting, as API Gateway)."""
        settings = dict(stage.method_settings or {})
        if not settings:
            return
        path = route.resource_path.lstrip("/")
        escaped = path.replace("/", "~1")
        candidates = (f"{path}/{method}", f"{escaped}/{method}", f"~1{escaped}/{method}", "*/*")
        key = next((c for c in candidates if c in settings), None)
        chosen = settings.get(key) if key else None
        if not chosen or "throttlingRateLimit" not in chosen:
            return
        rate = float(chosen.get("throttlingRateLimit") or 0)
        burst = float(chosen.get("throttlingBurstLimit") or rate)
        if rate < 0:
            return
        bucket_key = (stage.name, key or "", f"{rate}/{burst}")
        with self._buckets_lock:
            bucket = self._buckets.setdefault(bucket_key, _TokenBucket(rate, burst))
        if not bucket.take():
            raise GatewayAnswer(429, "Too Many Requests", "TooManyRequestsException")

    def integration_function_arns(self, stage_name: str) -> list[str]:
        """The function ARNs the stage's deployed AWS_PROXY integrations invoke (for warming)."""
        stage, snapshot = self._stage(stage_name)
        variables = dict(stage.variables or {})
        arns = []
        for resource in snapshot.resources:
            for method in resource.methods.values():
                uri = _STAGE_VARIABLE.sub(
                    lambda m: variables.get(m.group(1), ""), method.integration_uri or ""
                )
                found = _FUNCTION_IN_URI.search(uri)
                if method.integration_type == "AWS_PROXY" and found:
                    arns.append(found.group("arn"))
        return sorted(set(arns))

    # ---------------------------------------------------------------- WSGI
    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request_id = str(uuid.uuid4())
        try:
            status, headers, body = self.handle(environ, request_id)
        except GatewayAnswer as answer:
            status = answer.status
            headers = [
                ("Content-Type", "application/json"),
                ("x-amzn-ErrorType", answer.error_type),
            ]
            body = json.dumps({"message": answer.message}).encode()
        except Exception:
            log.exception("emulator failure on %s", environ.get("PATH_INFO"))
            status, headers = 500, [("Content-Type", "application/json")]
            body = json.dumps({"message": "Internal server error"}).encode()
        headers = [*headers, ("x-amzn-RequestId", request_id), ("Content-Length", str(len(body)))]
        start_response(f"{status} {_REASONS.get(status, 'Unknown')}", headers)
        return [body]

    def handle(self, environ: dict[str, Any], request_id: str) -> tuple[int, list, bytes]:
        if self.target is None:
            raise GatewayAnswer(503, "Service Unavailable", "ServiceUnavailableException")
        method = environ["REQUEST_METHOD"].upper()
        raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ["PATH_INFO"]
        raw_path, _, raw_query = raw_uri.partition("?")
        if not raw_query:
            raw_query = environ.get("QUERY_STRING", "")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > MAX_PAYLOAD_BYTES:
            raise GatewayAnswer(413, "Request Too Long", "RequestTooLongException")
        body = environ["wsgi.input"].read(length) if length else b""

        decoded_path = environ["PATH_INFO"]
        stage_name, _, rest = decoded_path.lstrip("/").partition("/")
        resource_path = "/" + rest
        if not stage_name:
            raise _missing_token()
        stage, snapshot = self._stage(stage_name)
        route, method_snapshot = resolve_route(snapshot, method, resource_path)

        header_pairs = _header_pairs(environ)
        lowered = {k.lower(): v for k, v in header_pairs}
        identity = CallerIdentity()
        if method_snapshot.authorization_type == "AWS_IAM":
            path_for_arn = resource_path.lstrip("/")
            method_arn = (
                f"arn:aws:execute-api:{snapshot.region}:{snapshot.account_id}:"
                f"{snapshot.api_id}/{stage_name}/{method}/{path_for_arn}"
            )
            verdict: GateResult = check_iam(
                RequestParts(method, raw_path, raw_query, header_pairs, body),
                region=snapshot.region,
                method_arn=method_arn,
                now=self.clock(),
                source_ip=environ.get("REMOTE_ADDR", "127.0.0.1"),
            )
            if not verdict.allowed:
                raise GatewayAnswer(verdict.status, verdict.message, verdict.error_type)
            identity = verdict.identity or identity
        elif method_snapshot.authorization_type != "NONE":
            raise GatewayAnswer(500, "Internal server error", "AuthorizerConfigurationException")

        from slsops.local.proxy_event import parse_query

        query: dict[str, list[str]] = {}
        for key, value in parse_query(raw_query):
            query.setdefault(key, []).append(value)
        validate_request(
            snapshot,
            method_snapshot,
            query,
            lowered,
            route.path_parameters,
            lowered.get("content-type", ""),
            body,
        )
        self._throttle(stage, route, method)

        if method_snapshot.integration_type != "AWS_PROXY" or not method_snapshot.integration_uri:
            raise GatewayAnswer(500, "Internal server error", "UnsupportedIntegration")
        stage_variables = dict(stage.variables or {})
        uri = _STAGE_VARIABLE.sub(
            lambda m: stage_variables.get(m.group(1), ""), method_snapshot.integration_uri
        )
        found = _FUNCTION_IN_URI.search(uri)
        spec = function_spec_from_moto(found.group("arn")) if found else None
        if spec is None:
            raise GatewayAnswer(500, "Internal server error", "InternalServerErrorException")
        event = build_event(
            method=method,
            path=resource_path,
            raw_query=raw_query,
            header_pairs=header_pairs,
            body=body,
            route=route,
            stage=stage_name,
            stage_variables=stage_variables,
            api_id=snapshot.api_id,
            account_id=snapshot.account_id,
            region=snapshot.region,
            request_id=request_id,
            identity=identity,
            source_ip=environ.get("REMOTE_ADDR", "127.0.0.1"),
            now=self.clock(),
        )
        try:
            result = self.workers.invoke(spec, event, request_id)
        except InvocationError as exc:
            log.warning("function %s failed: %s", spec.name, exc)
            raise GatewayAnswer(
                502, "Internal server error", "InternalServerErrorException"
            ) from None
        mapped = map_response(result)
        if mapped is None:
            raise GatewayAnswer(502, "Internal server error", "InternalServerErrorException")
        headers = [(k, v) for k, v in mapped.headers if k.lower() != "content-length"]
        return mapped.status, headers, mapped.body


def _header_pairs(environ: dict[str, Any]) -> list[tuple[str, str]]:
    """Request headers as the client sent them (names as WSGI exposes them, title-cased)."""
    pairs = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            pairs.append((key[5:].replace("_", "-").title(), value))
    if environ.get("CONTENT_TYPE"):
        pairs.append(("Content-Type", environ["CONTENT_TYPE"]))
    if environ.get("CONTENT_LENGTH"):
        pairs.append(("Content-Length", environ["CONTENT_LENGTH"]))
    return pairs


_REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    207: "Multi-Status",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
