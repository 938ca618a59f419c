"""ROLE-*: do the client roles give exactly the access they should? (``slsops roles``)

- ROLE-001..006: each role can be assumed with its external id (identity in evidence), and is
  refused with a wrong external id and with none.
- ROLE-010..016: the access matrix through the real API with each role's credentials, and the
  requests that must get 403 (unsigned, bad signature, stale signature, unknown access key).
  All of them run on every deployment: a stale signature is a valid one dated 15 minutes back,
  an unknown access key is made up on the spot.
- ROLE-020..022: each role's DynamoDB permissions on the table, evaluated from its actual
  policies (AWS: iam:SimulatePrincipalPolicy; local stack: the evaluator the emulator enforces),
  against the contract's least-privilege design.
- ROLE-030: static trust review (shared with ``slsops verify``'s IAM-002).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from slsops import contract
from slsops.checks.e2e import smoke_entry
from slsops.checks.iam_roles import policies_of_role, review_trust, role_name_from_arn
from slsops.deployment.api_client import (
    LogApiClient,
    RoleAssumptionError,
    RoleCredentials,
    Signing,
    assume_role,
    foreign_credentials,
)
from slsops.deployment.aws_sessions import new_session
from slsops.deployment.verify_context import StackContext
from slsops.framework.compare import problems_outcome
from slsops.framework.model import Check, Outcome, Severity, check, failed
from slsops.iam.evaluator import evaluate

CHECKS: list[Check] = []
DOC = "runbooks/role-assumption-fails.md"

ROLE_TITLES = {"ingest": "ingest", "read": "read", "full": "full-access"}

# Check ids per client role, written out so that grep finds each one.
ASSUMABLE_IDS = {"ingest": "ROLE-001", "read": "ROLE-002", "full": "ROLE-003"}
REFUSED_IDS = {"ingest": "ROLE-004", "read": "ROLE-005", "full": "ROLE-006"}
API_MATRIX_IDS = {"ingest": "ROLE-010", "read": "ROLE-011", "full": "ROLE-012"}
DYNAMODB_MATRIX_IDS = {"ingest": "ROLE-020", "read": "ROLE-021", "full": "ROLE-022"}


# ------------------------------------------------------------------------------ assuming roles


def credentials_for(ctx: StackContext, role: str) -> RoleCredentials:
    """The role's credentials, assumed once per run with the stack's external id."""
    return ctx.cached(
        ("assume", role),
        lambda: assume_role(
            ctx.stack, role, session_name=f"slsops-roles-{role}", sts_client=ctx.client("sts")
        ),
    )


def _assume_check(role: str) -> Callable[[StackContext], Outcome]:
    def run(ctx: StackContext) -> Outcome:
        try:
            creds = credentials_for(ctx, role)
        except RoleAssumptionError as exc:
            return failed(
                f"AssumeRole with the role's external id was refused ({exc.code})",
                role_arn=str(ctx.stack["roles"][role]["arn"]),
                error_code=exc.code,
            )
        session = new_session(
            aws_access_key_id=creds.access_key,
            aws_secret_access_key=creds.secret_key,
            aws_session_token=creds.token,
            region_name=ctx.stack.region,
        )
        identity = ctx.stack.client("sts", session=session).get_caller_identity()
        expected_role = role_name_from_arn(str(ctx.stack["roles"][role]["arn"]))
        arn = identity.get("Arn", "")
        return problems_outcome(
            [] if f":assumed-role/{expected_role}/" in arn else [f"session identity is {arn}"],
            f"assumed as {arn}",
            identity={k: identity.get(k) for k in ("Arn", "Account", "UserId")},
            expires=str(creds.expiration),
        )

    return run


def _refusal_check(role: str) -> Callable[[StackContext], Outcome]:
    def run(ctx: StackContext) -> Outcome:
        attempts = {"wrong external id": f"wrong-{uuid.uuid4().hex}", "no external id": None}
        evidence: dict[str, Any] = {}
        problems: list[str] = []
        for label, external_id in attempts.items():
            try:
                creds = assume_role(
                    ctx.stack, role, external_id=external_id, sts_client=ctx.client("sts")
                )
            except RoleAssumptionError as exc:
                if exc.code != "AccessDenied":
                    raise
                evidence[label] = f"refused ({exc.code})"
                continue
            evidence[label] = f"ACCEPTED as {creds.assumed_role_arn}"
            problems.append(f"assumable with {label}")
        return problems_outcome(problems, "refused with a wrong and no external id", **evidence)

    return run


for _role, _id in ASSUMABLE_IDS.items():
    check(
        CHECKS,
        _id,
        f"{ROLE_TITLES[_role]} role: assumable with its external id",
        Severity.CRITICAL,
        "Check the caller is in trusted_principal_arns and uses the role's external id; "
        "see runbooks/role-assumption-fails.md.",
        reads="sts:AssumeRole with the role's external id, then sts:GetCallerIdentity",
        runs_on="both",
        doc=DOC,
    )(_assume_check(_role))

for _role, _id in REFUSED_IDS.items():
    check(
        CHECKS,
        _id,
        f"{ROLE_TITLES[_role]} role: refused with a wrong or no external id",
        Severity.CRITICAL,
        "Restore the StringEquals sts:ExternalId condition of the trust policy (infra/); apply.",
        reads="sts:AssumeRole with a wrong external id and with none (both must be AccessDenied)",
        runs_on="both",
        doc=DOC,
    )(_refusal_check(_role))


# ------------------------------------------------------------------------------ API matrix


def _routes() -> list[tuple[str, str, str]]:
    """``(method, path, label)`` of every route in the contract."""
    return [(m.http_method, m.path, m.label) for m in contract.METHODS]


def _call(api: LogApiClient, method: str, path: str) -> int:
    if method == "POST":
        return api.post_logs(smoke_entry(f"roles-{uuid.uuid4().hex}")).status_code
    if path == "/logs/recent":
        return api.get_recent(service_name="slsops-smoke", limit=1).status_code
    return api.request(method, path).status_code


def _allowed(status: int) -> bool:
    return 200 <= status < 300


def _matrix_check(role: str) -> Callable[[StackContext], Outcome]:
    def run(ctx: StackContext) -> Outcome:
        spec = contract.CLIENT_ROLES[role]
        evidence: dict[str, Any] = {}
        problems: list[str] = []
        with LogApiClient(ctx.stack, credentials_for(ctx, role)) as api:
            for method, path, label in _routes():
                status = _call(api, method, path)
                want = spec.allows_api(method, path)
                evidence[label] = {"expected": "allow" if want else "403", "status": status}
                if want and not _allowed(status):
                    problems.append(f"{label} answered {status}, expected 2xx")
                if not want and status != 403:
                    problems.append(f"{label} answered {status}, expected 403")
        return problems_outcome(problems, "API access is exactly the contract's", **evidence)

    return run


for _role, _id in API_MATRIX_IDS.items():
    check(
        CHECKS,
        _id,
        f"{ROLE_TITLES[_role]} role: API access matrix",
        Severity.CRITICAL,
        "Restore the role's execute-api:Invoke policy from infra/iam_clients.tf; apply.",
        reads="POST /logs and GET /logs/recent through the API, signed with the role's session",
        runs_on="both",
        doc=DOC,
    )(_matrix_check(_role))


def _all_routes_forbidden(ctx: StackContext, api: LogApiClient) -> Outcome:
    evidence: dict[str, Any] = {}
    problems: list[str] = []
    with api:
        for method, path, label in _routes():
            status = _call(api, method, path)
            evidence[label] = status
            if status != 403:
                problems.append(f"{label} answered {status}, expected 403")
    return problems_outcome(problems, "every route answered 403", **evidence)


@check(
    CHECKS,
    "ROLE-013",
    "Unsigned requests are refused (403)",
    Severity.CRITICAL,
    'Set authorization = "AWS_IAM" on every method (infra/apigateway.tf), apply, redeploy.',
    reads="POST /logs and GET /logs/recent through the API without a signature",
    runs_on="both",
    doc=DOC,
)
def unsigned(ctx: StackContext) -> Outcome:
    return _all_routes_forbidden(ctx, LogApiClient.unsigned(ctx.stack))


@check(
    CHECKS,
    "ROLE-014",
    "Requests with a bad signature are refused (403)",
    Severity.CRITICAL,
    'Set authorization = "AWS_IAM" on every method (infra/apigateway.tf), apply, redeploy.',
    reads="POST /logs and GET /logs/recent through the API, one signature digit changed",
    runs_on="both",
    doc=DOC,
)
def bad_signature(ctx: StackContext) -> Outcome:
    return _all_routes_forbidden(
        ctx, LogApiClient(ctx.stack, credentials_for(ctx, "full"), signing=Signing.TAMPERED)
    )


@check(
    CHECKS,
    "ROLE-015",
    "Expired signatures are refused (403)",
    Severity.HIGH,
    "The API must refuse a request whose x-amz-date is outside SigV4's 5-minute window: keep "
    'authorization = "AWS_IAM" on every method (infra/apigateway.tf), apply, redeploy.',
    reads="POST /logs and GET /logs/recent through the API, signed with the full role's valid "
    "session but with x-amz-date 15 minutes old",
    runs_on="both",
    doc=DOC,
)
def expired_signature(ctx: StackContext) -> Outcome:
    return _all_routes_forbidden(
        ctx, LogApiClient(ctx.stack, credentials_for(ctx, "full"), signing=Signing.STALE)
    )


@check(
    CHECKS,
    "ROLE-016",
    "Signatures by an unknown access key are refused (403)",
    Severity.HIGH,
    "The API must refuse access keys no account knows: keep "
    'authorization = "AWS_IAM" on every method (infra/apigateway.tf), apply, redeploy.',
    reads="POST /logs and GET /logs/recent through the API, signed with a made-up access key",
    runs_on="both",
    doc=DOC,
)
def foreign(ctx: StackContext) -> Outcome:
    return _all_routes_forbidden(ctx, LogApiClient(ctx.stack, foreign_credentials()))


# ------------------------------------------------------------------------------ DynamoDB matrix


def role_policies(ctx: StackContext, role: str) -> dict[str, Any]:
    """The client role's identity policies as IAM holds them: inline and attached, by name."""
    return policies_of_role(ctx, role_name_from_arn(str(ctx.stack["roles"][role]["arn"])))


def dynamodb_decisions(ctx: StackContext, role: str) -> dict[str, str]:
    """``action -> "allow" | "deny"`` on the table for the probe actions."""
    actions = list(contract.DYNAMODB_PROBE_ACTIONS)
    table_arn = str(ctx.stack["table_arn"])
    if ctx.is_local:
        policies = role_policies(ctx, role)
        return {a: "allow" if evaluate(policies, a, table_arn).allowed else "deny" for a in actions}
    iam = ctx.client("iam")
    decisions: dict[str, str] = {}
    pages = iam.get_paginator("simulate_principal_policy").paginate(
        PolicySourceArn=str(ctx.stack["roles"][role]["arn"]),
        ActionNames=actions,
        ResourceArns=[table_arn],
    )
    for page in pages:
        for result in page.get("EvaluationResults", []):
            allowed = result.get("EvalDecision") == "allowed"
            decisions[result["EvalActionName"]] = "allow" if allowed else "deny"
    return decisions


def _dynamodb_check(role: str) -> Callable[[StackContext], Outcome]:
    def run(ctx: StackContext) -> Outcome:
        spec = contract.CLIENT_ROLES[role]
        actual = dynamodb_decisions(ctx, role)
        matrix = {
            action: {
                "expected": "allow" if spec.allows_dynamodb(action) else "deny",
                "actual": actual.get(action),
            }
            for action in contract.DYNAMODB_PROBE_ACTIONS
        }
        problems = [
            f"{action}: {row['actual']}, expected {row['expected']}"
            for action, row in matrix.items()
            if row["actual"] != row["expected"]
        ]
        method = "evaluator (local)" if ctx.is_local else "iam:SimulatePrincipalPolicy"
        allowed = [a for a, row in matrix.items() if row["actual"] == "allow"]
        ok = f"allows {', '.join(allowed) or 'none of the probed actions'}; denies the rest"
        return problems_outcome(problems, ok, matrix=matrix, method=method)

    return run


for _role, _id in DYNAMODB_MATRIX_IDS.items():
    check(
        CHECKS,
        _id,
        f"{ROLE_TITLES[_role]} role: DynamoDB permissions on the table",
        Severity.CRITICAL,
        "Remove the extra grant (or restore the missing one) in the role's policy from "
        "infra/iam_clients.tf; apply.",
        reads="iam:SimulatePrincipalPolicy on AWS; on the local stack the role's policies "
        "(iam:ListRolePolicies/GetRolePolicy/ListAttachedRolePolicies) through the IAM evaluator",
        runs_on="both",
        doc=DOC,
    )(_dynamodb_check(_role))


@check(
    CHECKS,
    "ROLE-030",
    "Trust policies: configured principals only, external id required",
    Severity.CRITICAL,
    "Restore the trust policy from infra/iam_clients.tf (principals = trusted_principal_arns, "
    "StringEquals sts:ExternalId) and apply.",
    reads="iam:GetRole (AssumeRolePolicyDocument) of each client role; outputs "
    "trusted_principal_arns and roles.*.external_id",
    runs_on="both",
    doc=DOC,
)
def trust_review(ctx: StackContext) -> Outcome:
    return review_trust(ctx)


def dynamodb_matrix_rows(results: list[Any]) -> tuple[list[str], list[list[str]]]:
    """Rows action x role of the ROLE-02x evidence (for the table printed on stderr)."""
    by_role = {r.id: r.evidence.get("matrix") or {} for r in results if r.id.startswith("ROLE-02")}
    ids = {check_id: role for role, check_id in DYNAMODB_MATRIX_IDS.items()}
    headers = ["action"] + [ids[i] for i in ids if i in by_role]
    rows = []
    for action in contract.DYNAMODB_PROBE_ACTIONS:
        row = [action]
        for check_id in (i for i in ids if i in by_role):
            cell = by_role[check_id].get(action) or {}
            actual, expected = cell.get("actual"), cell.get("expected")
            row.append(f"{actual}" if actual == expected else f"{actual} (want {expected})")
        rows.append(row)
    return headers, rows
