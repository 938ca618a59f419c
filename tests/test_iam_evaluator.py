"""The IAM evaluator decides as AWS does, including where moto's own evaluator does not."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

import pytest
from moto.iam.access_control import IAMPolicy

from slsops.iam.evaluator import PolicyError, arn_matches, evaluate, trust_allows

ACCOUNT = "123456789012"
OTHER_ACCOUNT = "210987654321"
REGION = "us-east-1"
API = "a1b2c3d4e5"
API_ARN = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API}"
TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/simple-log-service-logs-prod"
INDEX = f"{TABLE}/index/all-services-newest"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/simple-log-service-ingest-prod"
USER = f"arn:aws:iam::{ACCOUNT}:user/alice"
OTHER_USER = f"arn:aws:iam::{ACCOUNT}:user/mallory"
BOB = f"arn:aws:iam::{OTHER_ACCOUNT}:user/bob"
INVOKE = "execute-api:Invoke"
GET_OBJECT = "s3:GetObject"
OBJECT = "arn:aws:s3:::bucket/key"
QUERY = "dynamodb:Query"
ASSUME = "sts:AssumeRole"


def api_arn(method: str, path: str, stage: str = "prod", api: str = API) -> str:
    return f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api}/{stage}/{method}{path}"


def allow(action, resource, condition=None, sid=None) -> dict:
    statement = {"Effect": "Allow", "Action": action, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    if sid:
        statement["Sid"] = sid
    return {"Version": "2012-10-17", "Statement": [statement]}


def when(action: str, operator: str, key: str, values: Any) -> list[dict]:
    """One policy allowing ``action`` on everything under one condition."""
    return [allow(action, "*", {operator: {key: values}})]


def statement(**fields) -> list[dict]:
    return [{"Statement": fields}]


INGEST = [allow(INVOKE, f"{API_ARN}/*/POST/logs")]
READ = [allow(INVOKE, f"{API_ARN}/*/GET/logs/recent")]
FULL_TABLE = [allow(["dynamodb:GetItem", QUERY, "dynamodb:Scan"], [TABLE, INDEX])]
DENY_DELETE_TABLE = {
    "Statement": [{"Effect": "Deny", "Action": "dynamodb:DeleteTable", "Resource": "*"}]
}
NOT_TABLE = statement(Effect="Allow", Action="dynamodb:*", NotResource=TABLE)
NOT_DELETE = statement(Effect="Allow", NotAction="dynamodb:Delete*", Resource="*")
HOME = "arn:aws:s3:::bucket/home"


class Case(NamedTuple):
    id: str
    policies: list
    action: str
    resource: str
    expected: bool
    context: dict = {}  # noqa: RUF012 - a NamedTuple default, never mutated


CASES = [
    # execute-api ARNs: the stage, method and path are part of the resource.
    Case("ingest may POST /logs", INGEST, INVOKE, api_arn("POST", "/logs"), True),
    Case("ingest may POST /logs in any stage", INGEST, INVOKE, api_arn("POST", "/logs", "dev"),
         True),
    Case("ingest may not GET /logs/recent", INGEST, INVOKE, api_arn("GET", "/logs/recent"), False),
    Case("ingest may not POST another API", INGEST, INVOKE, api_arn("POST", "/logs", api="z9"),
         False),
    Case("ingest may not POST /logs/x", INGEST, INVOKE, api_arn("POST", "/logs/x"), False),
    Case("read may GET /logs/recent", READ, INVOKE, api_arn("GET", "/logs/recent"), True),
    Case("read may not POST /logs", READ, INVOKE, api_arn("POST", "/logs"), False),
    Case("full = ingest + read", INGEST + READ, INVOKE, api_arn("GET", "/logs/recent"), True),
    Case("account is part of the ARN", INGEST, INVOKE,
         api_arn("POST", "/logs").replace(ACCOUNT, OTHER_ACCOUNT), False),
    Case("* in region does not swallow the account",
         [allow(INVOKE, f"arn:aws:execute-api:*:{ACCOUNT}:{API}/*")], INVOKE,
         api_arn("GET", "/logs/recent").replace(ACCOUNT, OTHER_ACCOUNT), False),
    Case("wildcard method", [allow(INVOKE, f"{API_ARN}/prod/*/logs")], INVOKE,
         api_arn("DELETE", "/logs"), True),
    # Actions are case-insensitive (moto: case-sensitive).
    Case("action case-insensitive", [allow("DynamoDB:getitem", TABLE)], "dynamodb:GetItem", TABLE,
         True),
    Case("action wildcard case-insensitive", [allow("dynamodb:get*", TABLE)], "dynamodb:GetItem",
         TABLE, True),
    Case("execute-api:invoke lower-case", [allow("execute-api:invoke", "*")], INVOKE,
         api_arn("GET", "/logs/recent"), True),
    # ? is exactly one character (moto: a regular-expression quantifier).
    Case("? matches one character", [allow("dynamodb:?etItem", TABLE)], "dynamodb:GetItem", TABLE,
         True),
    Case("? needs exactly one character", [allow("dynamodb:G?tItem", TABLE)], "dynamodb:GtItem",
         TABLE, False),
    Case("? in resource", [allow("dynamodb:GetItem", TABLE[:-1] + "?")], "dynamodb:GetItem", TABLE,
         True),
    Case(". is literal", [allow("dynamodb:GetItem", TABLE.replace("-logs-", "-logs."))],
         "dynamodb:GetItem", TABLE, False),
    # Resources are case-sensitive.
    Case("resource case-sensitive",
         [allow("dynamodb:GetItem", TABLE.replace("table/s", "table/S"))], "dynamodb:GetItem",
         TABLE, False),
    # Least privilege of the full-access role: reads on table and index, no writes.
    Case("full may Query the index", FULL_TABLE, QUERY, INDEX, True),
    Case("full may not PutItem", FULL_TABLE, "dynamodb:PutItem", TABLE, False),
    Case("full may not DeleteTable", FULL_TABLE, "dynamodb:DeleteTable", TABLE, False),
    Case("table ARN does not cover the index", [allow(QUERY, TABLE)], QUERY, INDEX, False),
    # NotResource / NotAction (moto ignores NotResource).
    Case("NotResource excludes", NOT_TABLE, "dynamodb:GetItem", TABLE, False),
    Case("NotResource includes others", NOT_TABLE, "dynamodb:GetItem", INDEX, True),
    Case("NotAction excludes", NOT_DELETE, "dynamodb:DeleteItem", TABLE, False),
    Case("NotAction includes others", NOT_DELETE, QUERY, TABLE, True),
    # An explicit deny wins over any allow, in any policy.
    Case("explicit deny wins", [allow("dynamodb:*", "*"), DENY_DELETE_TABLE],
         "dynamodb:DeleteTable", TABLE, False),
    Case("deny elsewhere does not block", [allow("dynamodb:*", "*"), DENY_DELETE_TABLE], QUERY,
         TABLE, True),
    Case("no statement: implicit deny", [], QUERY, TABLE, False),
    # Conditions: string operators.
    Case("StringLike matches",
         when(INVOKE, "StringLike", "aws:PrincipalArn", f"arn:aws:iam::{ACCOUNT}:role/simple-*"),
         INVOKE, api_arn("POST", "/logs"), True, {"aws:PrincipalArn": ROLE}),
    Case("StringLike rejects",
         when(INVOKE, "StringLike", "aws:PrincipalArn", f"arn:aws:iam::{ACCOUNT}:role/other-*"),
         INVOKE, api_arn("POST", "/logs"), False, {"aws:PrincipalArn": ROLE}),
    Case("StringLike is case-sensitive", when(GET_OBJECT, "StringLike", "s3:prefix", "Logs/*"),
         GET_OBJECT, OBJECT, False, {"s3:prefix": "logs/a"}),
    Case("condition keys are case-insensitive",
         when(ASSUME, "StringEquals", "STS:EXTERNALID", "abc"), ASSUME, ROLE, True,
         {"sts:ExternalId": "abc"}),
    Case("values are OR'ed", when(ASSUME, "StringEquals", "sts:ExternalId", ["x", "abc"]),
         ASSUME, ROLE, True, {"sts:ExternalId": "abc"}),
    Case("keys are AND'ed",
         [allow(ASSUME, "*", {"StringEquals": {"sts:ExternalId": "abc",
                                               "aws:PrincipalAccount": OTHER_ACCOUNT}})],
         ASSUME, ROLE, False, {"sts:ExternalId": "abc", "aws:PrincipalAccount": ACCOUNT}),
    Case("missing key fails StringEquals", when(ASSUME, "StringEquals", "sts:ExternalId", "abc"),
         ASSUME, ROLE, False),
    Case("missing key passes StringNotEquals",
         when(GET_OBJECT, "StringNotEquals", "aws:SourceVpc", "vpc-1"), GET_OBJECT, OBJECT, True),
    Case("StringNotEquals rejects a listed value",
         when(GET_OBJECT, "StringNotEquals", "aws:SourceVpc", ["vpc-1", "vpc-2"]), GET_OBJECT,
         OBJECT, False, {"aws:SourceVpc": "vpc-2"}),
    Case("StringNotLike", when(GET_OBJECT, "StringNotLike", "aws:userid", "AIDA*"), GET_OBJECT,
         OBJECT, True, {"aws:userid": "AROAXYZ:session"}),
    Case("StringEqualsIgnoreCase", when(GET_OBJECT, "StringEqualsIgnoreCase", "s3:prefix", "LOGS"),
         GET_OBJECT, OBJECT, True, {"s3:prefix": "logs"}),
    Case("IfExists passes when absent",
         when(GET_OBJECT, "StringEqualsIfExists", "aws:SourceVpc", "vpc-1"), GET_OBJECT, OBJECT,
         True),
    Case("IfExists checks when present",
         when(GET_OBJECT, "StringEqualsIfExists", "aws:SourceVpc", "vpc-1"), GET_OBJECT, OBJECT,
         False, {"aws:SourceVpc": "vpc-9"}),
    # Bool, Null, Arn*, set operators, numbers, dates, addresses.
    Case("Bool true", when(GET_OBJECT, "Bool", "aws:SecureTransport", "true"), GET_OBJECT, OBJECT,
         True, {"aws:SecureTransport": True}),
    Case("Bool false", when(GET_OBJECT, "Bool", "aws:SecureTransport", "true"), GET_OBJECT, OBJECT,
         False, {"aws:SecureTransport": False}),
    Case("Null true = absent", when(GET_OBJECT, "Null", "aws:TokenIssueTime", "true"), GET_OBJECT,
         OBJECT, True),
    Case("Null true but present", when(GET_OBJECT, "Null", "aws:TokenIssueTime", "true"),
         GET_OBJECT, OBJECT, False, {"aws:TokenIssueTime": "2026-01-01T00:00:00Z"}),
    Case("Null false = present", when(GET_OBJECT, "Null", "aws:TokenIssueTime", "false"),
         GET_OBJECT, OBJECT, False),
    Case("ArnLike", when("sqs:SendMessage", "ArnLike", "aws:SourceArn", "arn:aws:sns:*:1:alarms-*"),
         "sqs:SendMessage", "arn:aws:sqs:us-east-1:1:q", True,
         {"aws:SourceArn": "arn:aws:sns:eu-west-1:1:alarms-prod"}),
    Case("ArnLike matches per component",
         when("sqs:SendMessage", "ArnLike", "aws:SourceArn", "arn:aws:sns:*:1:*"),
         "sqs:SendMessage", "arn:aws:sqs:us-east-1:1:q", False,
         {"aws:SourceArn": "arn:aws:sns:eu-west-1:999:1:x"}),
    Case("ArnNotEquals",
         when("sqs:SendMessage", "ArnNotEquals", "aws:SourceArn", "arn:aws:sns:us-east-1:1:a"),
         "sqs:SendMessage", "arn:aws:sqs:us-east-1:1:q", False,
         {"aws:SourceArn": "arn:aws:sns:us-east-1:1:a"}),
    Case("ForAnyValue matches one",
         when(QUERY, "ForAnyValue:StringEquals", "dynamodb:Attributes", ["level", "message"]),
         QUERY, TABLE, True, {"dynamodb:Attributes": ["sk", "level"]}),
    Case("ForAnyValue absent = false",
         when(QUERY, "ForAnyValue:StringEquals", "dynamodb:Attributes", ["level"]), QUERY, TABLE,
         False),
    Case("ForAllValues all must match",
         when(QUERY, "ForAllValues:StringEquals", "dynamodb:Attributes", ["level", "message"]),
         QUERY, TABLE, False, {"dynamodb:Attributes": ["level", "secret"]}),
    Case("ForAllValues subset",
         when(QUERY, "ForAllValues:StringEquals", "dynamodb:Attributes", ["level", "message"]),
         QUERY, TABLE, True, {"dynamodb:Attributes": ["message"]}),
    Case("ForAllValues absent = true",
         when(QUERY, "ForAllValues:StringEquals", "dynamodb:Attributes", ["level"]), QUERY, TABLE,
         True),
    Case("ForAllValues:StringNotLike",
         when(QUERY, "ForAllValues:StringNotLike", "dynamodb:Attributes", ["secret*"]), QUERY,
         TABLE, False, {"dynamodb:Attributes": ["level", "secret_x"]}),
    Case("NumericLessThan", when(ASSUME, "NumericLessThan", "sts:DurationSeconds", "3601"), ASSUME,
         ROLE, True, {"sts:DurationSeconds": 3600}),
    Case("NumericLessThan fails", when(ASSUME, "NumericLessThan", "sts:DurationSeconds", "3600"),
         ASSUME, ROLE, False, {"sts:DurationSeconds": 3600}),
    Case("DateLessThan",
         when(GET_OBJECT, "DateLessThan", "aws:CurrentTime", "2030-01-01T00:00:00Z"),
         GET_OBJECT, OBJECT, True, {"aws:CurrentTime": "2026-11-23T12:00:00Z"}),
    Case("DateGreaterThan epoch",
         when(GET_OBJECT, "DateGreaterThan", "aws:CurrentTime", "1893456000"),
         GET_OBJECT, OBJECT, False, {"aws:CurrentTime": "2026-11-23T12:00:00Z"}),
    Case("IpAddress", when(GET_OBJECT, "IpAddress", "aws:SourceIp", "127.0.0.0/8"), GET_OBJECT,
         OBJECT, True, {"aws:SourceIp": "127.0.0.1"}),
    Case("NotIpAddress", when(GET_OBJECT, "NotIpAddress", "aws:SourceIp", "127.0.0.0/8"),
         GET_OBJECT, OBJECT, False, {"aws:SourceIp": "127.0.0.1"}),
    # Document shapes: Statement as an object or a list, Action/Resource string or list, JSON text.
    Case("Statement as an object", statement(Effect="Allow", Action=QUERY, Resource=TABLE), QUERY,
         TABLE, True),
    Case("JSON text document", [json.dumps(allow([QUERY], [INDEX, TABLE]))], QUERY, TABLE, True),
    # Policy variables (Version 2012-10-17 only).
    Case("policy variable", [allow(GET_OBJECT, HOME + "/${aws:username}/*")], GET_OBJECT,
         HOME + "/alice/x", True, {"aws:username": "alice"}),
    Case("policy variable, other user", [allow(GET_OBJECT, HOME + "/${aws:username}/*")],
         GET_OBJECT, HOME + "/bob/x", False, {"aws:username": "alice"}),
    Case("policy variable missing", [allow(GET_OBJECT, HOME + "/${aws:username}/*")], GET_OBJECT,
         HOME + "//x", False),
    Case("policy variable default", [allow(GET_OBJECT, HOME + "/${aws:username, 'shared'}/*")],
         GET_OBJECT, HOME + "/shared/x", True),
    Case("no variables in Version 2008-10-17",
         [{"Version": "2008-10-17", "Statement": {"Effect": "Allow", "Action": GET_OBJECT,
                                                  "Resource": HOME + "/${x}"}}],
         GET_OBJECT, HOME + "/${x}", True, {"x": "y"}),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_evaluate(case: Case):
    decision = evaluate(case.policies, case.action, case.resource, case.context)
    assert decision.allowed is case.expected, decision.reason


# Cases where moto 5.2.5's IAMPolicy answers differently from AWS: why the project has its own.
# (moto's is_action_permitted takes no request context, so only context-free cases are shown.)
MOTO_WRONG = [
    "action case-insensitive",
    "action wildcard case-insensitive",
    "? matches one character",
    "? needs exactly one character",
    ". is literal",
    "NotResource excludes",
]


@pytest.mark.parametrize("case_id", MOTO_WRONG)
def test_moto_evaluator_disagrees_where_ours_follows_aws(case_id):
    case = next(c for c in CASES if c.id == case_id)
    moto_says = IAMPolicy(json.dumps(case.policies[0])).is_action_permitted(
        case.action, case.resource
    )
    assert (moto_says.name == "PERMITTED") is not case.expected
    assert evaluate(case.policies, case.action, case.resource).allowed is case.expected


def test_decision_names_the_deciding_statements():
    guard = {"Statement": [{"Effect": "Deny", "Action": "execute-api:*",
                            "Resource": api_arn("POST", "/logs")}]}  # fmt: skip
    policies = {"invoke": allow(INVOKE, "*", sid="InvokeAll"), "guard": guard}
    allowed = evaluate(policies, INVOKE, api_arn("GET", "/logs/recent"))
    assert allowed.allowed and allowed.matched == ("InvokeAll",) and not allowed.explicit_deny
    denied = evaluate(policies, INVOKE, api_arn("POST", "/logs"))
    assert not denied.allowed and denied.explicit_deny and denied.matched == ("guard#0",)
    implicit = evaluate(guard, INVOKE, api_arn("GET", "/x"))
    assert not implicit.allowed and not implicit.explicit_deny
    assert "implicit deny" in implicit.reason


def test_invalid_documents_are_refused():
    with pytest.raises(PolicyError):
        evaluate(["{not json"], GET_OBJECT, "*")
    with pytest.raises(PolicyError):
        evaluate(statement(Effect="Permit", Action="*", Resource="*"), GET_OBJECT, "*")
    with pytest.raises(PolicyError):
        evaluate(when(GET_OBJECT, "StringSomehow", "k", "v"), GET_OBJECT, "*", {"k": "v"})


def test_arn_matching_is_per_component():
    assert arn_matches("arn:aws:dynamodb:*:*:table/t", "arn:aws:dynamodb:eu-west-1:1:table/t")
    assert not arn_matches("arn:aws:dynamodb:*:table/t", "arn:aws:dynamodb:eu-west-1:1:table/t")
    assert arn_matches("*", "anything")
    assert arn_matches("arn:aws:execute-api:*", "arn:aws:execute-api:us-east-1:1:api/prod/GET/x")
    assert arn_matches(
        "arn:aws:logs:*:*:log-group:/aws/lambda/*:*",
        "arn:aws:logs:us-east-1:1:log-group:/aws/lambda/f:log-stream:s",
    )


# ------------------------------------------------------------------------------- trust policies

EXTERNAL_ID = "ext-0123456789"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"


def trust(principal, condition=None, effect="Allow", key="Principal") -> dict:
    found = {"Effect": effect, key: principal, "Action": ASSUME}
    if condition:
        found["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [found]}


ASSUME_ALLOWED = [allow(ASSUME, ROLE)]
WITH_EXTERNAL_ID = trust({"AWS": USER}, {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}})
RIGHT_ID = {"sts:ExternalId": EXTERNAL_ID}
DENY_ALL_STS = [{"Statement": {"Effect": "Deny", "Action": "sts:*", "Resource": "*"}}]
ALLOW_AND_DENY_USER = {
    "Statement": trust({"AWS": USER})["Statement"]
    + trust({"AWS": USER}, effect="Deny")["Statement"]
}
SAME_ACCOUNT_ONLY = {"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/s1"


class TrustCase(NamedTuple):
    id: str
    trust: dict
    caller: str
    account: str
    expected: bool
    context: dict = {}  # noqa: RUF012 - a NamedTuple default, never mutated
    caller_policies: list = []  # noqa: RUF012


TRUST_CASES = [
    TrustCase("right external id", WITH_EXTERNAL_ID, USER, ACCOUNT, True, RIGHT_ID),
    TrustCase("wrong external id", WITH_EXTERNAL_ID, USER, ACCOUNT, False, {"sts:ExternalId": "x"}),
    TrustCase("missing external id", WITH_EXTERNAL_ID, USER, ACCOUNT, False),
    TrustCase("principal not in the trust", WITH_EXTERNAL_ID, OTHER_USER, ACCOUNT, False, RIGHT_ID,
              ASSUME_ALLOWED),
    TrustCase("account root + identity allow", trust({"AWS": ROOT}), OTHER_USER, ACCOUNT, True, {},
              ASSUME_ALLOWED),
    TrustCase("account id form + identity allow", trust({"AWS": ACCOUNT}), OTHER_USER, ACCOUNT,
              True, {}, ASSUME_ALLOWED),
    TrustCase("account root without identity allow", trust({"AWS": ROOT}), OTHER_USER, ACCOUNT,
              False),
    TrustCase("account root, identity allows another role", trust({"AWS": ROOT}), OTHER_USER,
              ACCOUNT, False, {}, [allow(ASSUME, ROLE + "-other")]),
    TrustCase("another account's root", trust({"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"}), USER,
              ACCOUNT, False, {}, ASSUME_ALLOWED),
    TrustCase("cross-account named user needs identity allow", trust({"AWS": BOB}), BOB,
              OTHER_ACCOUNT, False),
    TrustCase("cross-account named user with identity allow", trust({"AWS": BOB}), BOB,
              OTHER_ACCOUNT, True, {}, ASSUME_ALLOWED),
    TrustCase("session of a trusted role",
              trust({"AWS": f"arn:aws:iam::{ACCOUNT}:role/ops/deployer"}), SESSION, ACCOUNT, True),
    TrustCase("session of another role", trust({"AWS": f"arn:aws:iam::{ACCOUNT}:role/other"}),
              SESSION, ACCOUNT, False),
    TrustCase("explicit deny in the trust", ALLOW_AND_DENY_USER, USER, ACCOUNT, False),
    TrustCase("explicit deny in an identity policy", trust({"AWS": USER}), USER, ACCOUNT, False, {},
              DENY_ALL_STS),
    TrustCase("wildcard principal, same account", trust("*", SAME_ACCOUNT_ONLY), USER, ACCOUNT,
              True),
    TrustCase("wildcard principal, other account", trust({"AWS": "*"}, SAME_ACCOUNT_ONLY), BOB,
              OTHER_ACCOUNT, False, {}, ASSUME_ALLOWED),
    TrustCase("service principal", trust({"Service": "lambda.amazonaws.com"}),
              "lambda.amazonaws.com", ACCOUNT, True),
    TrustCase("service principal is not a user", trust({"Service": "lambda.amazonaws.com"}), USER,
              ACCOUNT, False, {}, ASSUME_ALLOWED),
    TrustCase("NotPrincipal excludes", trust({"AWS": OTHER_USER}, key="NotPrincipal"), OTHER_USER,
              ACCOUNT, False),
    TrustCase("trust for another action",
              {"Statement": {"Effect": "Allow", "Principal": {"AWS": USER},
                             "Action": "sts:TagSession"}},
              USER, ACCOUNT, False),
    TrustCase("action case and lists in a trust",
              {"Statement": {"Effect": "Allow", "Principal": {"AWS": [OTHER_USER, USER]},
                             "Action": ["STS:assumerole"]}},
              USER, ACCOUNT, True),
]  # fmt: skip


@pytest.mark.parametrize("case", TRUST_CASES, ids=[case.id for case in TRUST_CASES])
def test_trust_allows(case: TrustCase):
    decision = trust_allows(
        case.trust, case.caller, case.account, case.context, case.caller_policies, ROLE
    )
    assert decision.allowed is case.expected, decision.reason


def test_trust_decision_explains_an_account_root_without_identity_allow():
    decision = trust_allows(trust({"AWS": ACCOUNT}), OTHER_USER, ACCOUNT, {}, [], ROLE)
    assert not decision.allowed
    assert "no identity policy allows sts:AssumeRole" in decision.reason
