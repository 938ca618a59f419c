"""Who is calling? Resolve an access key id to its principal in the embedded AWS (moto, in process).

The local stack's moto server runs in the same process as the API Gateway emulator and the STS
trust gap, so they read moto's backends directly: IAM users' access keys (with the user's
inline, attached managed and group policies) and the temporary keys of assumed-role sessions
(with the role's inline and attached managed policies, its permissions boundary and the session
policy). This is read-only: nothing here changes moto's state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.iam.models import iam_backends
from moto.sts.models import sts_backends

from slsops.iam.documents import PolicyError, load_policy
from slsops.iam.evaluator import Decision, evaluate

USER = "user"
ASSUMED_ROLE = "assumed-role"
# The WSGI environ key under which the authorisation layer hands the authenticated caller to
# what runs behind it (the gaps), so that nothing resolves the access key a second time.
CALLER_ENVIRON_KEY = "slsops.caller"


@dataclass(frozen=True)
class Principal:
    """A caller as IAM sees it, with the secret the signature must have been made with."""

    arn: str  # user ARN, or the session ARN arn:aws:sts::<acct>:assumed-role/<role>/<session>
    account_id: str
    kind: str  # USER or ASSUMED_ROLE
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None
    expiration: datetime | None = None  # aware UTC; None for long-term user keys
    # Identity-based policies that apply, name -> document ("inline:x", "managed:<arn>", ...).
    policies: Mapping[str, Any] = field(default_factory=dict)
    principal_arn: str = ""  # aws:PrincipalArn: the user ARN, or the role ARN for a session
    user_id: str = ""  # aws:userid
    permissions_boundary: Mapping[str, Any] | None = None
    # Session policies (inline ``Policy`` and managed ``PolicyArns``), label -> document; None
    # when the session was started without any (then they set no limit).
    session_policies: Mapping[str, Any] | None = None

    def request_context(
        self, now: datetime | None = None, source_ip: str | None = None, secure: bool = False
    ) -> dict[str, Any]:
        """The global condition keys AWS puts in every request this principal makes."""
        moment = now or datetime.now(UTC)
        context: dict[str, Any] = {
            "aws:PrincipalArn": self.principal_arn or self.arn,
            "aws:PrincipalAccount": self.account_id,
            "aws:PrincipalType": "User" if self.kind == USER else "AssumedRole",
            "aws:userid": self.user_id,
            "aws:CurrentTime": moment,
            "aws:EpochTime": int(moment.timestamp()),
            "aws:SecureTransport": secure,
        }
        if self.kind == USER:
            context["aws:username"] = self.arn.rsplit("/", 1)[-1]
        if source_ip:
            context["aws:SourceIp"] = source_ip
        return context


def authorize(
    principal: Principal, action: str, resource: str, context: Mapping[str, Any] | None = None
) -> Decision:
    """Identity policies, then the permissions boundary and session policy as limits (AWS order).

    An explicit deny anywhere denies; otherwise the identity policies must allow and so must the
    boundary and the session policy when present.
    """
    full_context = {**principal.request_context(), **(context or {})}
    decision = evaluate(principal.policies, action, resource, full_context)
    limits: dict[str, Mapping[str, Any] | None] = {
        "permissions boundary": (
            None
            if principal.permissions_boundary is None
            else {"permissions boundary": principal.permissions_boundary}
        ),
        "session policy": principal.session_policies,
    }
    for name, limit in limits.items():
        if limit is None:
            continue
        limited = evaluate(limit, action, resource, full_context)
        if limited.explicit_deny:
            return limited
        if decision.allowed and not limited.allowed:
            return Decision(False, f"implicit deny: the {name} does not allow {action}")
    return decision


# Managed session policies (``PolicyArns``) of each session, by its access key id: moto's STS
# keeps only the inline ``Policy``, so the authorisation layer records these when it issues them.
_SESSION_POLICY_ARNS: dict[str, tuple[str, ...]] = {}


def record_session_policy_arns(access_key_id: str, policy_arns: tuple[str, ...]) -> None:
    """Remember the managed session policies a session was started with."""
    if policy_arns:
        _SESSION_POLICY_ARNS[access_key_id] = tuple(policy_arns)


def resolve(access_key_id: str) -> Principal | None:
    """The principal owning ``access_key_id`` in the embedded AWS, or None when unknown/inactive."""
    if not access_key_id:
        return None
    return _assumed_role_principal(access_key_id) or _user_principal(access_key_id)


# --------------------------------------------------------------------------- moto lookups


def parse_document(text: Any) -> dict[str, Any] | None:
    """Moto keeps policy documents as the JSON text it received (sometimes URL-encoded);
    None for no document or one that is not a policy object."""
    if not text:
        return None
    try:
        return load_policy(dict(text) if isinstance(text, Mapping) else str(text))
    except PolicyError:
        return None


def _default_version(policy: Any) -> dict[str, Any] | None:
    for version in getattr(policy, "versions", []):
        if getattr(version, "is_default", False):
            return parse_document(version.document)
    return None


def _collect(prefix: str, owner: Any, into: dict[str, Any]) -> None:
    """Inline and attached managed policies of a user, group or role."""
    for name, text in list(getattr(owner, "policies", {}).items()):
        document = parse_document(text)
        if document is not None:
            into[f"{prefix}inline:{name}"] = document
    for arn, policy in list(getattr(owner, "managed_policies", {}).items()):
        document = _default_version(policy)
        if document is not None:
            into[f"{prefix}managed:{arn}"] = document


def _iam_backends() -> list[Any]:
    backends = []
    for _account_id, by_partition in list(iam_backends.items()):
        backends.extend(list(by_partition.values()))
    return backends


def _boundary(backend: Any, arn: str | None) -> dict[str, Any] | None:
    if not arn:
        return None
    policy = backend.managed_policies.get(arn)
    if policy is None:
        policy = next((p for p in backend.aws_managed_policies if p.arn == arn), None)
    # A boundary that cannot be read allows nothing, as an unreadable policy would on AWS.
    return (_default_version(policy) if policy else None) or {"Statement": []}


def _user_principal(access_key_id: str) -> Principal | None:
    for backend in _iam_backends():
        for user in list(backend.users.values()):
            for key in list(user.access_keys):
                if key.access_key_id != access_key_id:
                    continue
                if key.status != "Active":
                    return None
                policies: dict[str, Any] = {}
                _collect("", user, policies)
                for group in list(backend.groups.values()):
                    if user in group.users:
                        _collect(f"group:{group.name}/", group, policies)
                return Principal(
                    arn=user.arn,
                    account_id=user.account_id,
                    kind=USER,
                    access_key_id=access_key_id,
                    secret_access_key=key.secret_access_key,
                    policies=policies,
                    principal_arn=user.arn,
                    user_id=user.id,
                    permissions_boundary=_boundary(
                        backend, getattr(user, "permissions_boundary_arn", None)
                    ),
                )
    return None


def _assumed_role_principal(access_key_id: str) -> Principal | None:
    for _account_id, by_partition in list(sts_backends.items()):
        for sts_backend in list(by_partition.values()):
            session = sts_backend.get_assumed_role_from_access_key(access_key_id)
            if session is not None:
                return _session_principal(session)
    return None


def _session_principal(session: Any) -> Principal:
    policies: dict[str, Any] = {}
    boundary = None
    role_id = ""
    iam_backend = iam_backends[session.account_id][session.partition]
    role = next((r for r in list(iam_backend.roles.values()) if r.arn == session.role_arn), None)
    if role is not None:
        _collect("", role, policies)
        boundary = _boundary(iam_backend, role.permissions_boundary_arn)
        role_id = role.id
    expiration = session.expiration
    if expiration.tzinfo is None:
        expiration = expiration.replace(tzinfo=UTC)
    return Principal(
        arn=session.arn,
        account_id=session.account_id,
        kind=ASSUMED_ROLE,
        access_key_id=session.access_key_id,
        secret_access_key=session.secret_access_key,
        session_token=session.session_token,
        expiration=expiration,
        policies=policies,
        principal_arn=session.role_arn,
        user_id=f"{role_id}:{session.session_name}",
        permissions_boundary=boundary,
        session_policies=_session_policies(iam_backend, session),
    )


def _session_policies(iam_backend: Any, session: Any) -> dict[str, Any] | None:
    """Inline and managed session policies; a managed one that cannot be read allows nothing."""
    policies: dict[str, Any] = {}
    inline = parse_document(session.policy)
    if inline is not None:
        policies["session:inline"] = inline
    for arn in _SESSION_POLICY_ARNS.get(session.access_key_id, ()):
        policy = iam_backend.managed_policies.get(arn) or next(
            (p for p in iam_backend.aws_managed_policies if p.arn == arn), None
        )
        policies[f"session:managed:{arn}"] = (_default_version(policy) if policy else None) or {
            "Statement": []
        }
    return policies or None
