"""IAM-*: the three client roles and their trust policies (``slsops verify``).

The static trust review here is also run by ``slsops roles`` (ROLE-030): a trust policy may only
let the configured principals (output ``trusted_principal_arns``) call ``sts:AssumeRole``, and
only with ``StringEquals sts:ExternalId`` = the role's external id.

External ids never reach a report: evidence shows each as its fingerprint
(``slsops.redact.fingerprint``).
"""

from __future__ import annotations

import re
from typing import Any

from slsops import contract
from slsops.deployment.verify_context import StackContext
from slsops.framework.compare import compared, problems_outcome
from slsops.framework.model import Check, Outcome, Severity, check
from slsops.iam.documents import as_list, load_policy
from slsops.redact import fingerprint

CHECKS: list[Check] = []
DOC = "runbooks/role-assumption-fails.md"
_ACCOUNT_ID = re.compile(r"^\d{12}$")


def role_name_from_arn(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def role_description(ctx: StackContext, key: str) -> dict[str, Any]:
    """GetRole of the client role ``key`` (ingest, read, full), cached."""
    arn = str(ctx.stack["roles"][key]["arn"])
    return ctx.call("iam", "get_role", RoleName=role_name_from_arn(arn))["Role"]


def policy_document(document: Any) -> dict[str, Any]:
    """IAM answers policy documents URL-encoded JSON; botocore usually decodes them already."""
    return load_policy(document if isinstance(document, dict | str) else str(document))


def policies_of_role(ctx: StackContext, role_name: str) -> dict[str, Any]:
    """A role's identity policies as IAM holds them, inline and attached, by name (cached)."""
    iam = ctx.client("iam")

    def fetch() -> dict[str, Any]:
        policies: dict[str, Any] = {}
        for page in iam.get_paginator("list_role_policies").paginate(RoleName=role_name):
            for policy_name in page.get("PolicyNames", []):
                answer = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)
                policies[f"inline:{policy_name}"] = policy_document(answer["PolicyDocument"])
        pages = iam.get_paginator("list_attached_role_policies").paginate(RoleName=role_name)
        for page in pages:
            for attached in page.get("AttachedPolicies", []):
                arn = attached["PolicyArn"]
                version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
                answer = iam.get_policy_version(PolicyArn=arn, VersionId=version)
                policies[f"managed:{arn}"] = policy_document(answer["PolicyVersion"]["Document"])
        return policies

    return ctx.cached(("role-policies", role_name), fetch)


def _normalize_principal(value: str) -> str:
    return f"arn:aws:iam::{value}:root" if _ACCOUNT_ID.match(value) else value


def trust_problems(
    document: dict[str, Any], external_id: str | None, trusted: list[str]
) -> list[str]:
    """Everything in a client role's trust policy that is wider than the contract allows."""
    problems: list[str] = []
    allowed = {_normalize_principal(p) for p in trusted}
    allows = [s for s in as_list(document.get("Statement")) if s.get("Effect") == "Allow"]
    if not allows:
        problems.append("no Allow statement")
    for n, statement in enumerate(allows):
        where = f"statement {statement.get('Sid') or n}"
        actions = as_list(statement.get("Action"))
        if "NotAction" in statement or "NotPrincipal" in statement:
            problems.append(f"{where}: NotAction/NotPrincipal widens the trust")
        extra = [a for a in actions if a != contract.TRUST.action]
        if extra:
            problems.append(f"{where}: allows {', '.join(map(str, extra))}")
        principal = statement.get("Principal")
        if principal == "*" or principal is None:
            problems.append(f"{where}: principal is {principal!r}")
            principal = {}
        for kind, values in (principal or {}).items():
            for value in as_list(values):
                if value in contract.TRUST.forbidden_principals or kind != "AWS":
                    problems.append(f"{where}: trusts {kind} {value}")
                elif _normalize_principal(value) not in allowed:
                    problems.append(f"{where}: trusts {value}, not in trusted_principal_arns")
        operator = contract.TRUST.external_id_condition_operator
        key = contract.TRUST.external_id_condition_key
        condition = (statement.get("Condition") or {}).get(operator) or {}
        values = as_list(next((v for k, v in condition.items() if k.lower() == key.lower()), None))
        if not values:
            problems.append(f"{where}: no {operator} {key} condition")
        elif external_id is not None and values != [external_id]:
            problems.append(f"{where}: {key} condition does not equal the role's external id")
    return problems


def _fingerprinted(value: Any) -> Any:
    if isinstance(value, str):
        return f"sha256:{fingerprint(value)}"
    return [_fingerprinted(v) for v in value] if isinstance(value, list) else value


def without_external_ids(document: Any) -> Any:
    """A copy of a policy document with every ``sts:ExternalId`` condition value replaced by its
    fingerprint (``sha256:<4 hex>``), so the document can go into a report."""
    key = contract.TRUST.external_id_condition_key.lower()
    if isinstance(document, list):
        return [without_external_ids(item) for item in document]
    if not isinstance(document, dict):
        return document
    copy: dict[str, Any] = {}
    for name, value in document.items():
        if name == "Condition" and isinstance(value, dict):
            copy[name] = {
                operator: {k: _fingerprinted(v) if k.lower() == key else v for k, v in keys.items()}
                if isinstance(keys, dict)
                else keys
                for operator, keys in value.items()
            }
        else:
            copy[name] = without_external_ids(value)
    return copy


def review_trust(ctx: StackContext) -> Outcome:
    """Static trust review of all three client roles (IAM-002 and ROLE-030)."""
    trusted = [str(p) for p in as_list(ctx.stack.get("trusted_principal_arns"))]
    problems: list[str] = []
    evidence: dict[str, Any] = {"trusted_principal_arns": trusted}
    for key in contract.ROLE_NAMES:
        role = role_description(ctx, key)
        document = policy_document(role.get("AssumeRolePolicyDocument"))
        external_id = ctx.stack["roles"][key].get("external_id")
        found = trust_problems(document, external_id, trusted)
        problems += [f"{key}: {p}" for p in found]
        evidence[key] = {
            "trust_policy": without_external_ids(document),
            "external_id": f"sha256:{fingerprint(external_id)}" if external_id else None,
            "problems": found,
        }
    return problems_outcome(
        problems,
        "each trust policy admits only the configured principals, with the external id",
        **evidence,
    )


def _partition(ctx: StackContext) -> str:
    arn = str(ctx.stack.get("table_arn") or "")
    return arn.split(":")[1] if arn.startswith("arn:") and arn.count(":") > 1 else "aws"


@check(
    CHECKS,
    "IAM-001",
    "The three client roles exist with the contract's names",
    Severity.CRITICAL,
    "Apply infra/ (client roles) and refresh the stack file (terraform output -json).",
    reads="iam:GetRole of each contract role name; the roles output's ARNs",
    runs_on="both",
    doc=DOC,
)
def client_roles_exist(ctx: StackContext) -> Outcome:
    """Looked up by the contract's names (not by the stack file's ARNs) and compared with the
    contract's ARN: ``arn:<partition>:iam::<account_id>:role/<name>``."""
    iam = ctx.client("iam")
    account = str(ctx.stack.get("account_id") or "")
    expected, actual = {}, {}
    for key in contract.ROLE_NAMES:
        name = ctx.names.client_role(key)
        try:
            role = ctx.call("iam", "get_role", RoleName=name)["Role"]
        except iam.exceptions.NoSuchEntityException:
            role = {}
        want_arn = f"arn:{_partition(ctx)}:iam::{account}:role/{name}"
        expected[f"{key}.name"] = name
        actual[f"{key}.name"] = role.get("RoleName")
        expected[f"{key}.arn"] = want_arn
        actual[f"{key}.arn"] = role.get("Arn")
        expected[f"{key}.stack_output_arn"] = want_arn
        actual[f"{key}.stack_output_arn"] = str(ctx.stack["roles"][key]["arn"])
    return compared(expected, actual, "ingest, read and full roles exist")


@check(
    CHECKS,
    "IAM-002",
    "Client roles' trust policies: configured principals only, external id required",
    Severity.CRITICAL,
    "Restore the trust policy from infra/ (principals = trusted_principal_arns, "
    "StringEquals sts:ExternalId) and apply.",
    reads="iam:GetRole (AssumeRolePolicyDocument) of each client role; outputs "
    "trusted_principal_arns and roles.*.external_id",
    runs_on="both",
    doc=DOC,
)
def trust_policies(ctx: StackContext) -> Outcome:
    return review_trust(ctx)


@check(
    CHECKS,
    "IAM-003",
    "Client roles' session duration and external id strength",
    Severity.MEDIUM,
    "Set max_session_duration and a long random external id (infra/ variables) and apply.",
    reads="iam:GetRole (MaxSessionDuration) of each client role; the external ids' length",
    runs_on="both",
    doc=DOC,
)
def session_limits(ctx: StackContext) -> Outcome:
    problems: list[str] = []
    evidence: dict[str, Any] = {}
    for key in contract.ROLE_NAMES:
        role = role_description(ctx, key)
        duration = role.get("MaxSessionDuration")
        external_id = ctx.stack["roles"][key].get("external_id") or ""
        evidence[key] = {
            "max_session_duration_s": duration,
            "external_id_length": len(external_id),
        }
        if duration is None or duration > contract.TRUST.max_session_duration_s:
            problems.append(
                f"{key}: max session {duration} s > {contract.TRUST.max_session_duration_s} s"
            )
        if len(external_id) < contract.TRUST.external_id_min_length:
            problems.append(
                f"{key}: external id has {len(external_id)} characters, "
                f"fewer than {contract.TRUST.external_id_min_length}"
            )
    return problems_outcome(problems, "sessions are short and external ids long", **evidence)
