"""STS's own checks: parameters (400 ValidationError) and trust (403 AccessDenied).

AWS validates every AssumeRole* request before it looks at trust: required parameters, the
session name's pattern and length, DurationSeconds against 900 s and the role's maximum
session duration, the session policy's format and size, the managed session policies' ARNs.
Then the role's trust policy must admit the caller with its conditions (``sts:ExternalId``,
the web-identity claims ``<issuer host>:sub``/``:aud``...). moto 5.2.5 checks none of this.
"""

from __future__ import annotations

import json
import re
from typing import Any

from moto.iam.models import iam_backends

from slsops.iam.evaluator import PolicyError, conditions_hold, statements, trust_allows
from slsops.iam.identity import effect_of
from slsops.local import identity, oidc_issuer
from slsops.local.authz.errors import Refusal, validation
from slsops.local.authz.moto_call import MotoCall
from slsops.local.identity import Principal

# AWS's ``\w`` is ASCII: a session name or external id with other letters is refused.
_SESSION_NAME = re.compile(r"^[\w+=,.@-]*$", re.ASCII)
_EXTERNAL_ID = re.compile(r"^[\w+=,.@:/-]*$", re.ASCII)
_POLICY_ARN = re.compile(r"^arn:aws[\w-]*:iam::(\d{12}|aws):policy/[\x21-\x7e]+$")
_ROLE_ARN = re.compile(r"^arn:aws[\w-]*:iam::(\d{12}):role/[\x21-\x7e]+$")
# Token claims AWS exposes as ``<issuer host>:<claim>`` condition keys (GitHub's among them).
WEB_IDENTITY_CLAIMS = ("sub", "aud", "amr", "azp", "repository", "ref", "environment")
MIN_DURATION_S = 900
MAX_DURATION_S = 43200
MAX_PACKED_POLICY_CHARS = 2048
MAX_POLICY_ARNS = 10
_REQUIRED = {
    "AssumeRole": ("RoleArn", "RoleSessionName"),
    "AssumeRoleWithWebIdentity": ("RoleArn", "RoleSessionName", "WebIdentityToken"),
    "AssumeRoleWithSAML": ("RoleArn", "PrincipalArn", "SAMLAssertion"),
}


def _lower_first(name: str) -> str:
    return name[0].lower() + name[1:]


def _constraint(value: Any, name: str, constraint: str) -> Refusal:
    return validation(
        f"1 validation error detected: Value '{value}' at '{_lower_first(name)}' failed to "
        f"satisfy constraint: {constraint}"
    )


def find_role(role_arn: str) -> Any | None:
    """The role in moto's IAM (never creating an account as a side effect)."""
    match = _ROLE_ARN.match(role_arn or "")
    if not match:
        return None
    backend = dict.get(dict.get(iam_backends, match.group(1)) or {}, "aws")
    if backend is None:
        return None
    return next((r for r in list(backend.roles.values()) if r.arn == role_arn), None)


def policy_arns(call: MotoCall) -> list[str]:
    """The managed session policies' ARNs as moto parsed ``PolicyArns.member.N.arn``."""
    entries = call.param("PolicyArns") or []
    if isinstance(entries, dict):
        entries = list(entries.values())
    arns = []
    for entry in entries if isinstance(entries, list) else []:
        arn = entry.get("arn") if isinstance(entry, dict) else entry
        arns.append(str(arn) if arn is not None else "")
    return arns


def validate_parameters(call: MotoCall) -> Refusal | None:
    """The 400s AWS answers before it evaluates anything."""
    for name in _REQUIRED.get(call.operation, ()):
        value = call.param(name)
        if value is None or value == "":
            return validation(
                f"1 validation error detected: Value null at '{_lower_first(name)}' failed to "
                "satisfy constraint: Member must not be null"
            )
    role_arn = str(call.param("RoleArn"))
    if len(role_arn) < 20 or len(role_arn) > 2048:
        return _constraint(role_arn, "RoleArn", "Member must have length between 20 and 2048")
    session_name = call.param("RoleSessionName")
    if session_name is not None:
        session_name = str(session_name)
        if not 2 <= len(session_name) <= 64:
            return _constraint(
                session_name, "RoleSessionName", "Member must have length between 2 and 64"
            )
        if not _SESSION_NAME.fullmatch(session_name):
            return _constraint(
                session_name,
                "RoleSessionName",
                "Member must satisfy regular expression pattern: [\\w+=,.@-]*",
            )
    refusal = _validate_duration(call)
    if refusal is None:
        refusal = _validate_external_id(call)
    if refusal is None:
        refusal = _validate_session_policies(call)
    return refusal


def _validate_duration(call: MotoCall) -> Refusal | None:
    raw = call.param("DurationSeconds")
    if raw is None:
        return None
    try:
        duration = int(raw)
    except (TypeError, ValueError):
        return _constraint(raw, "DurationSeconds", "Member must be a number")
    if duration < MIN_DURATION_S:
        return _constraint(
            duration, "DurationSeconds", "Member must have value greater than or equal to 900"
        )
    if duration > MAX_DURATION_S:
        return _constraint(
            duration, "DurationSeconds", "Member must have value less than or equal to 43200"
        )
    role = find_role(str(call.param("RoleArn")))
    maximum = int(getattr(role, "max_session_duration", None) or 3600) if role else 3600
    if duration > maximum:
        return validation(
            f"The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
            f" ({duration} > {maximum})"
        )
    return None


def _validate_external_id(call: MotoCall) -> Refusal | None:
    external_id = call.param("ExternalId")
    if external_id is None:
        return None
    external_id = str(external_id)
    if not 2 <= len(external_id) <= 1224:
        return _constraint("***", "ExternalId", "Member must have length between 2 and 1224")
    if not _EXTERNAL_ID.fullmatch(external_id):
        return _constraint(
            "***", "ExternalId", "Member must satisfy regular expression pattern: [\\w+=,.@:/-]*"
        )
    return None


def _validate_session_policies(call: MotoCall) -> Refusal | None:
    policy = call.param("Policy")
    if policy is not None:
        text = str(policy)
        if len(text) > MAX_PACKED_POLICY_CHARS:
            return Refusal(
                400,
                "PackedPolicyTooLarge",
                "Packed size of the session policies exceeds the allowed limit.",
            )
        try:
            document = json.loads(text)
        except ValueError:
            document = None
        if not isinstance(document, dict) or "Statement" not in document:
            return Refusal(
                400, "MalformedPolicyDocument", "The policy is not in the valid JSON format."
            )
        problem = _policy_problem(document)
        if problem:
            return Refusal(400, "MalformedPolicyDocument", problem)
    arns = policy_arns(call)
    if len(arns) > MAX_POLICY_ARNS:
        return _constraint(
            len(arns), "PolicyArns", "Member must have length less than or equal to 10"
        )
    for arn in arns:
        if not _POLICY_ARN.match(arn):
            return validation(f"Invalid policy ARN in PolicyArns: {arn or 'null'}")
    return None


def _policy_problem(document: dict[str, Any]) -> str | None:
    """What makes a session policy unusable (AWS refuses it at AssumeRole); None when none.

    Accepted, it made every call of the session fail in the evaluator (a 500 on both servers).
    """
    try:
        for statement in statements(document):
            effect_of(statement)
            if "Action" not in statement and "NotAction" not in statement:
                return "Policy statement must contain actions."
            if "Resource" not in statement and "NotResource" not in statement:
                return "Policy statement must contain resources."
            condition = statement.get("Condition") or {}
            if not isinstance(condition, dict):
                raise PolicyError("Condition must map operators to keys")
            for operator, keys in condition.items():  # each on its own: AND stops at a false one
                conditions_hold({operator: keys}, {}, variables=False)
    except PolicyError as error:
        return f"Syntax errors in policy: {error}"
    return None


def _denied(caller: str, action: str, role_arn: str) -> Refusal:
    return Refusal(
        403,
        "AccessDenied",
        f"User: {caller} is not authorized to perform: {action} on resource: {role_arn}",
    )


def check_assume_role(call: MotoCall, principal: Principal) -> Refusal | None:
    """Trust policy (with its conditions) and the caller's identity policies, as AWS combines."""
    role_arn = str(call.param("RoleArn"))
    denied = _denied(principal.arn, "sts:AssumeRole", role_arn)
    role = find_role(role_arn)
    if role is None:
        return denied  # AWS answers AccessDenied for a role that does not exist, too
    context = principal.request_context()
    for key, param in (
        ("sts:ExternalId", "ExternalId"),
        ("sts:RoleSessionName", "RoleSessionName"),
        ("sts:DurationSeconds", "DurationSeconds"),
    ):
        value = call.param(param)
        if value is not None:
            context[key] = str(value)
    try:
        trust = trust_allows(
            role.assume_role_policy_document,
            principal.arn,
            principal.account_id,
            context,
            principal.policies,
            role.arn,
        )
    except PolicyError:
        return denied
    if not trust.allowed:
        return denied
    limits = identity.authorize(principal, "sts:AssumeRole", role.arn, context)
    if limits.explicit_deny:
        return denied
    if (principal.session_policies or principal.permissions_boundary) and not limits.allowed:
        return denied  # a session or boundary that does not allow AssumeRole limits it
    return None


def check_web_identity(call: MotoCall) -> Refusal | None:
    """Verify the token against a registered OIDC provider and its issuer's keys, then trust."""
    token = str(call.param("WebIdentityToken"))
    role_arn = str(call.param("RoleArn"))
    try:
        issuer_url = oidc_issuer.unverified_issuer(token)
        issuer = oidc_issuer.issuer_for(issuer_url)
        if issuer is None:
            raise oidc_issuer.TokenRefused(
                "InvalidIdentityToken",
                f"No OpenIDConnect provider found in your account for {issuer_url}",
            )
        claims = issuer.verify(token)
    except oidc_issuer.TokenRefused as refused:
        return Refusal(400, refused.code, str(refused))
    role = find_role(role_arn)
    denied = Refusal(403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity")
    if role is None:
        return denied
    host = issuer_url.split("://", 1)[-1].rstrip("/")
    provider = _oidc_provider(role.account_id, host)
    if provider is None:
        return Refusal(
            400,
            "InvalidIdentityToken",
            f"No OpenIDConnect provider found in your account for {issuer_url}",
        )
    audiences = claims.get("aud")
    audiences = audiences if isinstance(audiences, list) else [audiences]
    if not set(map(str, audiences)) & set(provider.client_id_list or []):
        return Refusal(400, "InvalidIdentityToken", "Incorrect token audience")
    context: dict[str, Any] = {"aws:FederatedProvider": provider.arn}
    for claim in WEB_IDENTITY_CLAIMS:
        if claim in claims:
            context[f"{host}:{claim}"] = claims[claim]
    context["sts:RoleSessionName"] = str(call.param("RoleSessionName"))
    try:
        trust = trust_allows(
            role.assume_role_policy_document,
            provider.arn,
            role.account_id,
            context,
            (),
            role.arn,
            action="sts:AssumeRoleWithWebIdentity",
        )
    except PolicyError:
        return denied
    return None if trust.allowed else denied


def _oidc_provider(account_id: str, host: str) -> Any | None:
    backend = dict.get(dict.get(iam_backends, account_id) or {}, "aws")
    if backend is None:
        return None
    for provider in list(backend.open_id_providers.values()):
        if str(provider.url).rstrip("/") == host:
            return provider
    return None


def check_saml(call: MotoCall) -> Refusal:
    """No SAML identity provider has keys in the local stack: no assertion can be verified."""
    return Refusal(
        400,
        "InvalidIdentityToken",
        "The SAML assertion could not be verified: the local stack trusts no SAML identity "
        "provider's signing certificate",
    )
