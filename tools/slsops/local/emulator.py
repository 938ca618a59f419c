"""API Gateway (REST) on loopback: serves the deployed API from the embedded AWS as AWS would.

For each request: find the stage and the method of its LAST DEPLOYMENT (snapshot taken at
CreateDeployment), enforce the gateway's limits, authenticate and authorize ``AWS_IAM`` methods
(``slsops.local.iam_gate``), apply the method's request validator, throttle as the stage's
method settings say, check that the function's resource policy lets the gateway invoke it
(``slsops.local.invoke_permission``), then run the ``AWS_PROXY`` integration's function in a
local worker and map its answer back. The HTTP edge (header quota, read timeout, body) is
``slsops.local.gateway_http``; routing and validation are ``slsops.local.gateway_routing``.

Everything is read from moto's backends in this process at request time, so a change made in
the embedded AWS (a new deployment with authorization NONE, another integration, new function
code) behaves changed.

Not emulated (documented in docs/local-stack.md): custom authorizers, API keys and usage plans,
non-proxy integrations and mapping templates, gateway responses customisation, caching, custom
domains, API resource policies, WAF, CORS preflight generation.
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
from typing import Any

from slsops.local import deployment_snapshot
from slsops.local.deployment_snapshot import DeploymentSnapshot
from slsops.local.gateway_http import (
    REASONS,
    GatewayAnswer,
    GatewayRequestHandler,
    header_pairs,
    missing_token,
    read_body,
)
from slsops.local.gateway_routing import resolve_route, validate_request
from slsops.local.iam_gate import GateResult, RequestParts, check_iam
from slsops.local.invoke_permission import gateway_may_invoke
from slsops.local.lambda_workers import InvocationError, LambdaWorkers, function_spec_from_moto
from slsops.local.proxy_event import (
    CallerIdentity,
    RouteMatch,
    build_event,
    map_response,
    parse_query,
)
from slsops.local.reserved_concurrency import refuse_if_throttled

__all__ = ["ApiGatewayEmulator", "GatewayAnswer", "GatewayRequestHandler"]

log = logging.getLogger(__name__)

_FUNCTION_IN_URI = re.compile(r"/functions/(?P<arn>arn:[^/]+)/invocations$")
_STAGE_VARIABLE = re.compile(r"\$\{stageVariables\.([A-Za-z0-9_]+)\}")


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
            # Serving moto's current configuration instead would hide undeployed changes.
            log.error(
                "stage %s of API %s points at deployment %s, which has no snapshot: was it "
                "created before the snapshot gap was installed?",
                stage_name,
                api.id,
                stage.deployment_id,
            )
            raise GatewayAnswer(500, "Internal server error", "InternalServerErrorException")
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

    @staticmethod
    def _check_invoke_permission(
        function_arn: str, snapshot: DeploymentSnapshot, stage: str, method: str, route: RouteMatch
    ) -> None:
        """The function's resource policy must let API Gateway invoke it for this method."""
        source_arn = (
            f"arn:aws:execute-api:{snapshot.region}:{snapshot.account_id}:"
            f"{snapshot.api_id}/{stage}/{method}{route.resource_path}"
        )
        allowed, why = gateway_may_invoke(function_arn, source_arn)
        if not allowed:
            log.warning(
                "Execution failed due to configuration error: Invalid permissions on Lambda "
                "function %s for %s (%s)",
                function_arn,
                source_arn,
                why,
            )
            raise GatewayAnswer(500, "Internal server error", "InternalServerErrorException")

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
            status, headers, body = answer.response()
        except Exception:
            log.exception("emulator failure on %s", environ.get("PATH_INFO"))
            status, headers = 500, [("Content-Type", "application/json")]
            body = json.dumps({"message": "Internal server error"}).encode()
        headers = [*headers, ("x-amzn-RequestId", request_id), ("Content-Length", str(len(body)))]
        start_response(f"{status} {REASONS.get(status, 'Unknown')}", headers)
        return [body]

    def handle(self, environ: dict[str, Any], request_id: str) -> tuple[int, list, bytes]:
        if self.target is None:
            raise GatewayAnswer(503, "Service Unavailable", "ServiceUnavailableException")
        method = environ["REQUEST_METHOD"].upper()
        raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ["PATH_INFO"]
        raw_path, _, raw_query = raw_uri.partition("?")
        if not raw_query:
            raw_query = environ.get("QUERY_STRING", "")
        body = read_body(environ)

        decoded_path = environ["PATH_INFO"]
        stage_name, _, rest = decoded_path.lstrip("/").partition("/")
        resource_path = "/" + rest
        if not stage_name:
            raise missing_token()
        stage, snapshot = self._stage(stage_name)
        route, method_snapshot = resolve_route(snapshot, method, resource_path)

        received = header_pairs(environ)
        lowered = {k.lower(): v for k, v in received}
        identity = CallerIdentity()
        if method_snapshot.authorization_type == "AWS_IAM":
            path_for_arn = resource_path.lstrip("/")
            method_arn = (
                f"arn:aws:execute-api:{snapshot.region}:{snapshot.account_id}:"
                f"{snapshot.api_id}/{stage_name}/{method}/{path_for_arn}"
            )
            verdict: GateResult = check_iam(
                RequestParts(method, raw_path, raw_query, received, body),
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
        self._check_invoke_permission(spec.arn, snapshot, stage_name, method, route)
        refuse_if_throttled(spec.arn)
        event = build_event(
            method=method,
            path=resource_path,
            raw_query=raw_query,
            header_pairs=received,
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
