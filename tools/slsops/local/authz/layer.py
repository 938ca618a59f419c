"""The authorisation layer: every request to the embedded AWS is authenticated and authorised.

A WSGI middleware in front of moto's server app, as AWS's front door is in front of each
service. For every request it:

1. reads the body once, refusing a malformed Content-Length with a 400 (moto answered 500);
2. asks moto which operation this is and what its parameters are (``moto_call``), so the check
   and the execution cannot disagree;
3. authenticates SigV4 with known keys only (IAM users' access keys and the sessions moto's STS
   issued, with their expiry), except for the two STS operations AWS leaves unsigned, whose
   token or assertion is verified instead;
4. validates AssumeRole* parameters and evaluates the role's trust policy with its conditions;
5. evaluates the caller's identity policies, permissions boundary and session policies (inline
   and managed) with ``slsops.iam.evaluator`` for the IAM action and each resource ARN.

Refusals carry AWS's error codes in the service's protocol shape and never reach moto. The
local stack's own control paths (``CONTROL_PATHS``) pass; any other path under ``/_slsops/`` is
a 404 (behind the layer moto would route it: ``/_slsops/key`` is an S3 object in a bucket named
``_slsops``). Of moto's ``/moto-api`` only the dashboard page answers (a reachability check):
its other reads are moto's state, secrets and all (``data.json`` lists every access key's
secret), and its writes reset or seed the account.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from slsops.local import identity, sigv4
from slsops.local.authz import decision_cache, json_input, moto_call, resources, sts_checks
from slsops.local.authz.errors import Refusal, access_denied
from slsops.local.authz.principals import SHARED
from slsops.local.gaps.faults import ADMIN_PATH
from slsops.local.speed import shared_parse

CONTROL_PREFIX = "/_slsops/"
# The control paths a middleware behind the layer answers itself (nothing else under the prefix
# may pass: moto would serve it, unauthenticated).
CONTROL_PATHS = frozenset({ADMIN_PATH})
MOTO_API_PREFIX = "/moto-api"
# What anyone may read of moto's control API: the dashboard page, no state.
MOTO_API_READS = frozenset({"/moto-api/", "/moto-api/lib.js", "/favicon.ico"})
MAX_BODY_BYTES = 64 * 1024 * 1024
UNSIGNED_OPERATIONS = {"AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"}
# Operations AWS answers for any authenticated caller, whatever its policies.
NO_PERMISSION_NEEDED = {("sts", "GetCallerIdentity")}
# sigv4's API-Gateway error types -> the query-protocol error codes AWS services use.
_AUTH_CODES = {
    "MissingAuthenticationTokenException": "MissingAuthenticationToken",
    "IncompleteSignatureException": "IncompleteSignature",
    "InvalidSignatureException": "SignatureDoesNotMatch",
    "UnrecognizedClientException": "InvalidClientTokenId",
    "ExpiredTokenException": "ExpiredToken",
    "AccessDeniedException": "AccessDenied",
}
_ACCESS_KEY_ID = re.compile(r"<AccessKeyId>([^<]+)</AccessKeyId>")
# (principal ARN - the role's for a session -, IAM action, statement id) of every allowed call:
# what a principal actually used of its policies (``slsops.local.deployer`` reports it).
USAGE: Counter[tuple[str, str, str]] = Counter()

Clock = Callable[[], datetime]


def _headers(environ: dict[str, Any]) -> list[tuple[str, str]]:
    headers = [
        (key[5:].replace("_", "-").lower(), value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    ]
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers.append((key.replace("_", "-").lower(), environ[key]))
    return headers


def _raw_path(environ: dict[str, Any]) -> str:
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        return str(raw).split("?", 1)[0]
    from urllib.parse import quote

    return quote(environ.get("PATH_INFO", "/"), safe="/~!$&'()*+,;=:@%")


def read_body(environ: dict[str, Any]) -> bytes | Refusal:
    """The body, read once and put back; a Refusal for a Content-Length AWS would refuse."""
    declared = environ.get("CONTENT_LENGTH")
    stream = environ.get("wsgi.input") or io.BytesIO()
    if declared in (None, ""):
        body = stream.read() if environ.get("wsgi.input_terminated") else b""
    else:
        text = str(declared).strip()
        if not (text.isascii() and text.isdigit()):  # not "²", which int() refuses
            return Refusal(400, "InvalidRequest", f"Invalid Content-Length: {declared!r}")
        length = int(text)
        if length > MAX_BODY_BYTES:
            return Refusal(413, "RequestEntityTooLarge", "Request body too large")
        body = stream.read(length) if length else b""
        if len(body) != length:
            return Refusal(400, "IncompleteBody", "The request body is shorter than Content-Length")
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


class AuthorizationLayer:
    """WSGI middleware: authenticate and authorise, then hand the request to moto."""

    def __init__(self, app: Any, clock: Clock | None = None) -> None:
        self.app = app
        self.clock = clock
        # moto's routing is stateless: a dispatcher of our own routes exactly as moto's does.
        self.dispatcher = DomainDispatcherApplication(create_backend_app)
        self.principals = SHARED

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or ""
        if path.startswith(CONTROL_PREFIX):
            if path in CONTROL_PATHS:
                return self.app(environ, start_response)
            return self._refuse(
                start_response, Refusal(404, "NotFound", f"no control path {path!r}"), None
            )
        if path.startswith(MOTO_API_PREFIX) or path == "/favicon.ico":
            reading = environ.get("REQUEST_METHOD", "GET") in ("GET", "HEAD")
            if reading and path in MOTO_API_READS:
                return self.app(environ, start_response)
            message = (
                "moto's control API answers its dashboard page only here"
                if reading
                else "moto's control API is read-only here"
            )
            return self._refuse(start_response, Refusal(403, "AccessDenied", message), None)
        body = read_body(environ)
        if isinstance(body, Refusal):
            return self._refuse(start_response, body, None)
        try:
            call = moto_call.parse(self.dispatcher, environ, body)
        except moto_call.UnparsableRequest as exc:
            return self._refuse(
                start_response,
                Refusal(400, "InvalidAction", f"Could not parse the request: {exc}"),
                None,
            )
        refusal, principal = self._decide(call, environ, body)
        if refusal is not None:
            return self._refuse(start_response, refusal, call)
        if principal is not None:
            environ[identity.CALLER_ENVIRON_KEY] = principal
        environ[shared_parse.PREPARED_ENVIRON_KEY] = call.response  # moto runs this parse
        if call.operation.startswith("AssumeRole") and call.service == "sts":
            return self._issue_session(call, environ, start_response)
        try:
            if call.protocol == "json":
                return self._json_call(call, environ, start_response, body)
            return self.app(environ, start_response)
        except NotImplementedError:  # an operation moto lacks: say so, not a retried 500
            return self._refuse(start_response, _not_implemented(call), call)
        except Exception as exc:  # moto's handler raised (its Flask app lets it through)
            failure = f"the embedded AWS failed on this call ({type(exc).__name__})"
            return self._refuse(start_response, Refusal(500, "InternalFailure", failure), call)
        finally:
            self.principals.note_call(call.botocore_service, call.operation)

    def _json_call(
        self, call: moto_call.MotoCall, environ: dict[str, Any], start_response: Any, body: bytes
    ) -> Iterable[bytes]:
        """Run a JSON-protocol call; a crash of moto's handler (an exception, or the HTML 500
        page of a Flask app that keeps its exceptions) becomes a JSON answer: the caller's 400
        when the body is wrong, else a 500 botocore can read (``json_input.after_failure``)."""
        answer: dict[str, Any] = {}
        written: list[bytes] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answer["status"], answer["headers"] = status, headers
            return written.append

        try:
            result = self.app(environ, capture)
            try:
                chunks = written + list(result)  # moto's answers are whole anyway
            finally:
                if hasattr(result, "close"):
                    result.close()
            crashed: bool | str = _is_crash_page(answer["status"], answer["headers"])
        except NotImplementedError:  # an operation moto lacks: say so, not a retried 500
            return self._refuse(start_response, _not_implemented(call), call)
        except Exception as exc:  # moto's handler raised (Flask lets it through, or none ran)
            chunks, crashed = [], f"{type(exc).__name__} in the handler"
        if crashed:  # the call reached moto, so parse found its operation in botocore's model
            model = moto_call.operation_model(call.botocore_service, call.operation)
            failure = crashed if isinstance(crashed, str) else "its handler failed"
            return self._refuse(
                start_response, json_input.after_failure(model, body, failure), call
            )
        start_response(answer["status"], answer["headers"])
        return chunks

    # ---------------------------------------------------------------- decisions
    def _decide(
        self, call: moto_call.MotoCall, environ: dict[str, Any], body: bytes
    ) -> tuple[Refusal | None, identity.Principal | None]:
        if not call.operation:
            return Refusal(400, "InvalidAction", "Could not find operation for the request"), None
        if call.service == "sts" and call.operation in UNSIGNED_OPERATIONS:
            refusal = sts_checks.validate_parameters(call)
            if refusal is None:
                refusal = (
                    sts_checks.check_web_identity(call)
                    if call.operation == "AssumeRoleWithWebIdentity"
                    else sts_checks.check_saml(call)
                )
            return refusal, None
        principal_or_refusal = self._authenticate(call, environ, body)
        if isinstance(principal_or_refusal, Refusal):
            return principal_or_refusal, None
        principal = principal_or_refusal
        if call.input_error is not None:  # AWS reads the body only for a caller it knows
            return call.input_error, principal
        if (call.botocore_service, call.operation) in NO_PERMISSION_NEEDED:
            return None, principal
        if call.service == "sts" and call.operation == "AssumeRole":
            refusal = sts_checks.validate_parameters(call)
            return refusal or sts_checks.check_assume_role(call, principal), principal
        return self._authorize(call, principal), principal

    def _authenticate(
        self, call: moto_call.MotoCall, environ: dict[str, Any], body: bytes
    ) -> identity.Principal | Refusal:
        auth = sigv4.authenticate(
            environ.get("REQUEST_METHOD", "GET"),
            _raw_path(environ),
            environ.get("QUERY_STRING", ""),
            _headers(environ),
            body,
            region=None,
            service=_signing_name(call),
            lookup_key=self.principals.lookup,
            now=self.clock,
        )
        if auth.ok and auth.principal is not None:
            return auth.principal
        code = _AUTH_CODES.get(auth.error_type, "AccessDenied")
        message = (
            "Request is missing Authentication Token"
            if code == "MissingAuthenticationToken"
            else auth.message
        )
        status = 400 if call.protocol == "json" else 403
        return Refusal(status, code, message)

    def _authorize(self, call: moto_call.MotoCall, principal: identity.Principal) -> Refusal | None:
        region = str(getattr(call.response, "region", "") or "us-east-1")
        arns, extra = resources.derive(call, region, principal.account_id)
        requirements = [(call.iam_action, arn) for arn in arns]
        requirements += resources.implied_requirements(call, region, principal.account_id)
        frozen_extra = tuple(sorted((key, repr(value)) for key, value in extra.items()))
        for action, arn in requirements:
            decision = decision_cache.SHARED.decide(
                principal,
                ("authorize", action, arn, frozen_extra),
                lambda action=action, arn=arn: identity.authorize(principal, action, arn, extra),
            )
            if not decision.allowed:
                refusal = access_denied(principal.arn, action, arn, decision.explicit_deny)
                if call.protocol == "json":
                    return Refusal(400, refusal.code, refusal.message)
                return refusal
            for statement in decision.matched:
                USAGE[(principal.principal_arn or principal.arn, action, statement)] += 1
        return None

    # ---------------------------------------------------------------- responses
    def _issue_session(
        self, call: moto_call.MotoCall, environ: dict[str, Any], start_response: Any
    ) -> Iterable[bytes]:
        """Run moto's AssumeRole*, then record the session's managed policies by its key."""
        arns = tuple(sts_checks.policy_arns(call))
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"] = status
            return (
                start_response(status, headers, exc_info)
                if exc_info
                else start_response(status, headers)
            )

        chunks = list(self.app(environ, capture))
        if arns and str(captured.get("status", "")).startswith("200"):
            match = _ACCESS_KEY_ID.search(b"".join(chunks).decode("utf-8", "replace"))
            if match:
                identity.record_session_policy_arns(match.group(1), arns)
        return chunks

    @staticmethod
    def _refuse(
        start_response: Any, refusal: Refusal, call: moto_call.MotoCall | None
    ) -> list[bytes]:
        if call is None:
            status, headers, payload = refusal.render("")
        else:
            status, headers, payload = refusal.render(
                call.protocol, call.botocore_service, call.query_compatible
            )
        start_response(status, headers)
        return [payload]


def _not_implemented(call: moto_call.MotoCall) -> Refusal:
    """501 naming the operation (a 500 would make botocore retry it five times)."""
    message = f"the embedded AWS (moto) does not implement {call.operation or call.path}"
    return Refusal(501, "NotImplemented", message)


def _is_crash_page(status: str, headers: list[tuple[str, str]]) -> bool:
    """Flask's answer to an exception in a handler: 500 with an HTML page (AWS never sends
    HTML from a JSON service; the faults gap's injected 500s are JSON)."""
    if not status.startswith("500"):
        return False
    return any(n.lower() == "content-type" and "text/html" in v.lower() for n, v in headers)


def _signing_name(call: moto_call.MotoCall) -> str:
    from moto.core.utils import get_service_model

    try:
        model = get_service_model(call.botocore_service)
        return str(model.signing_name or model.endpoint_prefix)
    except Exception:
        return call.botocore_service


def wrap(app: Any, clock: Clock | None = None) -> AuthorizationLayer:
    return AuthorizationLayer(app, clock)
