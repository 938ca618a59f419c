"""The embedded AWS's authorisation layer, attacked as an independent probe attacked it.

Each test is written as the attack (signed with botocore's own signer, sent raw with requests
where the attack is in the HTTP shape) and asserts AWS's refusal: the error code, the status,
and that no credentials come back. The server is moto's WSGI app behind the gaps and the
authorisation layer, in a thread of this process, so a test can reach moto's state.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import boto3
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.sts.models import sts_backends

from slsops.local.authz.layer import AuthorizationLayer
from slsops.local.aws_app import serve_in_thread
from slsops.local.gaps import wrap_all
from slsops.local.operator import create_admin

REGION = "us-east-1"
ACCOUNT = "123456789012"
EXTERNAL_ID = "slsops-ext-7c1d"
UNKNOWN = {"aws_access_key_id": "AKIAUNKNOWNKEY000001", "aws_secret_access_key": "testing"}
FORM = "application/x-www-form-urlencoded; charset=utf-8"


@pytest.fixture(scope="module")
def endpoint():
    admin = create_admin()
    app = AuthorizationLayer(wrap_all(DomainDispatcherApplication(create_backend_app)))
    with serve_in_thread(app) as url:
        yield {"url": url, "admin": admin.boto3_kwargs(), "layer": app}


def client(endpoint, service, credentials=None):
    return boto3.client(
        service,
        endpoint_url=endpoint["url"],
        region_name=REGION,
        **(credentials or endpoint["admin"]),
    )


def session_credentials(credentials: dict) -> dict:
    return {
        "aws_access_key_id": credentials["AccessKeyId"],
        "aws_secret_access_key": credentials["SecretAccessKey"],
        "aws_session_token": credentials["SessionToken"],
    }


def signed_post(endpoint, service, body: str, credentials: dict, headers: dict | None = None):
    """POST ``body`` signed (SigV4, botocore's signer) exactly as given, headers and all."""
    request = AWSRequest(
        method="POST",
        url=endpoint["url"] + "/",
        data=body.encode(),
        headers={"Content-Type": FORM, **(headers or {})},
    )
    keys = Credentials(
        credentials["aws_access_key_id"],
        credentials["aws_secret_access_key"],
        credentials.get("aws_session_token"),
    )
    SigV4Auth(keys, service, REGION).add_auth(request)
    return requests.post(
        request.url, data=request.body, headers=dict(request.headers.items()), timeout=30
    )


def assert_refused(response, code: str, status: int = 403) -> None:
    assert response.status_code == status, response.text
    assert f"<Code>{code}</Code>" in response.text or code in response.headers.get(
        "x-amzn-ErrorType", ""
    ), response.text
    assert "SecretAccessKey" not in response.text


def assert_client_error(call, code: str) -> str:
    with pytest.raises(ClientError) as raised:
        call()
    assert raised.value.response["Error"]["Code"] == code, raised.value.response
    return raised.value.response["Error"]["Message"]


def policy(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*") -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def trust_user(user_arn, external_id=None) -> str:
    statement = {"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": "sts:AssumeRole"}
    if external_id:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@pytest.fixture(scope="module")
def world(endpoint):
    """A user the roles trust, a full role (external id), a read role, a log table."""
    iam = client(endpoint, "iam")
    suffix = uuid.uuid4().hex[:6]
    name = f"operator-{suffix}"
    iam.create_user(UserName=name)
    user_arn = iam.get_user(UserName=name)["User"]["Arn"]
    key = iam.create_access_key(UserName=name)["AccessKey"]
    user = {
        "aws_access_key_id": key["AccessKeyId"],
        "aws_secret_access_key": key["SecretAccessKey"],
    }
    table = f"logs-{suffix}"
    client(endpoint, "dynamodb").create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    table_arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}"
    full = iam.create_role(
        RoleName=f"full-{suffix}", AssumeRolePolicyDocument=trust_user(user_arn, EXTERNAL_ID)
    )["Role"]["Arn"]
    iam.put_role_policy(
        RoleName=f"full-{suffix}",
        PolicyName="everything",
        PolicyDocument=policy(allow(["dynamodb:*", "iam:GetRole", "sts:GetCallerIdentity"])),
    )
    read = iam.create_role(
        RoleName=f"read-{suffix}", AssumeRolePolicyDocument=trust_user(user_arn)
    )["Role"]["Arn"]
    iam.put_role_policy(
        RoleName=f"read-{suffix}",
        PolicyName="read",
        PolicyDocument=policy(
            allow("execute-api:Invoke", "arn:aws:execute-api:*:*:*/*/GET/*"),
            allow("iam:GetRole"),
        ),
    )
    only_get_role = iam.create_policy(
        PolicyName=f"only-get-role-{suffix}", PolicyDocument=policy(allow("iam:GetRole"))
    )["Policy"]["Arn"]
    return {
        "user": user,
        "user_arn": user_arn,
        "full": full,
        "read": read,
        "read_name": f"read-{suffix}",
        "table": table,
        "table_arn": table_arn,
        "only_get_role": only_get_role,
    }


def assume_body(role_arn: str, **extra: str) -> str:
    fields = {"Action": "AssumeRole", "Version": "2011-06-15", "RoleArn": role_arn}
    fields.update({"RoleSessionName": "probe", **extra})
    return "&".join(f"{k}={requests.utils.quote(v, safe='')}" for k, v in fields.items())


# --------------------------------------------------------------------------- STS parsing loopholes


def test_form_content_type_in_other_letter_case_is_still_checked(endpoint, world):
    for content_type in ("APPLICATION/X-WWW-FORM-URLENCODED", "Application/x-www-form-urlencoded"):
        headers = {"Content-Type": content_type}
        body = assume_body(world["full"])
        assert_refused(signed_post(endpoint, "sts", body, world["user"], headers), "AccessDenied")
        assert_refused(signed_post(endpoint, "sts", body, UNKNOWN, headers), "InvalidClientTokenId")


def test_x_amz_target_instead_of_action_is_still_checked(endpoint, world):
    body = f"Version=2011-06-15&RoleArn={world['full']}&RoleSessionName=probe"
    headers = {"X-Amz-Target": "AWSSecurityTokenServiceV20110615.AssumeRole"}
    refused = signed_post(endpoint, "sts", body, world["user"], headers)
    assert_refused(refused, "AccessDenied")
    assert_refused(signed_post(endpoint, "sts", body, UNKNOWN, headers), "InvalidClientTokenId")


def test_duplicated_action_gives_no_credentials(endpoint, world):
    for first, second in (("GetCallerIdentity", "AssumeRole"), ("AssumeRole", "GetCallerIdentity")):
        body = (
            f"Action={first}&Action={second}&Version=2011-06-15&RoleArn={world['full']}"
            "&RoleSessionName=probe"
        )
        response = signed_post(endpoint, "sts", body, world["user"])
        assert "SecretAccessKey" not in response.text, response.text
        assert_refused(signed_post(endpoint, "sts", body, UNKNOWN), "InvalidClientTokenId")


def test_duplicated_role_arn_never_issues_the_role_the_trust_refuses(endpoint, world):
    # The user may assume `read` (no external id) but not `full` without its external id.
    for order in ((world["read"], world["full"]), (world["full"], world["read"])):
        body = (
            f"Action=AssumeRole&Version=2011-06-15&RoleArn={order[0]}&RoleArn={order[1]}"
            "&RoleSessionName=probe"
        )
        response = signed_post(endpoint, "sts", body, world["user"])
        if response.status_code == 200:  # moto used the `read` one; so did the check
            assert f"assumed-role/{world['read'].split('/')[-1]}/probe" in response.text
            assert f"assumed-role/{world['full'].split('/')[-1]}/" not in response.text
        else:  # moto would use the `full` one; so did the check, which refuses it
            assert_refused(response, "AccessDenied")
            assert world["full"] in response.text


def test_assume_role_with_web_identity_unsigned_junk_token_is_refused(endpoint, world):
    for token in ("junk", "a.b.c", "eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0."):
        response = requests.post(
            endpoint["url"] + "/",
            data={
                "Action": "AssumeRoleWithWebIdentity",
                "Version": "2011-06-15",
                "RoleArn": world["full"],
                "RoleSessionName": "probe",
                "WebIdentityToken": token,
            },
            timeout=30,
        )
        assert_refused(response, "InvalidIdentityToken", 400)


def test_assume_role_with_saml_unsigned_junk_assertion_is_refused(endpoint, world):
    response = requests.post(
        endpoint["url"] + "/",
        data={
            "Action": "AssumeRoleWithSAML",
            "Version": "2011-06-15",
            "RoleArn": world["full"],
            "PrincipalArn": f"arn:aws:iam::{ACCOUNT}:saml-provider/idp",
            "SAMLAssertion": "PHNhbWw+anVuazwvc2FtbD4=",
        },
        timeout=30,
    )
    assert_refused(response, "InvalidIdentityToken", 400)


def test_unsigned_and_unknown_key_assume_role_are_refused(endpoint, world):
    body = assume_body(world["full"], ExternalId=EXTERNAL_ID)
    unsigned = requests.post(
        endpoint["url"] + "/", data=body, headers={"Content-Type": FORM}, timeout=30
    )
    assert_refused(unsigned, "MissingAuthenticationToken")
    assert_refused(signed_post(endpoint, "sts", body, UNKNOWN), "InvalidClientTokenId")
    forged = {**world["user"], "aws_secret_access_key": "x" * 40}
    assert_refused(signed_post(endpoint, "sts", body, forged), "SignatureDoesNotMatch")


# --------------------------------------------------------------------------- session and parameters


def test_managed_session_policies_limit_the_session(endpoint, world):
    sts = client(endpoint, "sts", world["user"])
    plain = sts.assume_role(RoleArn=world["full"], RoleSessionName="plain", ExternalId=EXTERNAL_ID)[
        "Credentials"
    ]
    client(endpoint, "dynamodb", session_credentials(plain)).describe_table(
        TableName=world["table"]
    )
    limited = sts.assume_role(
        RoleArn=world["full"],
        RoleSessionName="limited",
        ExternalId=EXTERNAL_ID,
        PolicyArns=[{"arn": world["only_get_role"]}],
    )["Credentials"]
    dynamodb = client(endpoint, "dynamodb", session_credentials(limited))
    message = assert_client_error(
        lambda: dynamodb.describe_table(TableName=world["table"]), "AccessDeniedException"
    )
    assert "dynamodb:DescribeTable" in message
    iam = client(endpoint, "iam", session_credentials(limited))
    assert iam.get_role(RoleName=world["read_name"])["Role"]["Arn"] == world["read"]


def test_inline_session_policy_limits_the_session(endpoint, world):
    limited = client(endpoint, "sts", world["user"]).assume_role(
        RoleArn=world["full"],
        RoleSessionName="inline",
        ExternalId=EXTERNAL_ID,
        Policy=policy(allow("iam:GetRole")),
    )["Credentials"]
    dynamodb = client(endpoint, "dynamodb", session_credentials(limited))
    assert_client_error(lambda: dynamodb.list_tables(), "AccessDeniedException")


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"DurationSeconds": 100}, "ValidationError"),
        ({"DurationSeconds": 7200}, "ValidationError"),  # the role's maximum is 3600
        ({"DurationSeconds": 50000}, "ValidationError"),
        ({"RoleSessionName": "a"}, "ValidationError"),
        ({"RoleSessionName": "bad name!"}, "ValidationError"),
        ({"RoleSessionName": "x" * 65}, "ValidationError"),
        ({"Policy": "not json"}, "MalformedPolicyDocument"),
        ({"Policy": json.dumps({"Statement": []}) + " " * 2100}, "PackedPolicyTooLarge"),
        ({"PolicyArns": [{"arn": "not-an-arn-at-all-really"}]}, "ValidationError"),
        # AWS's pattern is ASCII and matches the whole value (no trailing newline)
        ({"RoleSessionName": "s\u00e9ance"}, "ValidationError"),
        ({"RoleSessionName": "probe\n"}, "ValidationError"),
        ({"ExternalId": "ext-\u00e9t\u00e9"}, "ValidationError"),
        ({"ExternalId": EXTERNAL_ID + "\n"}, "ValidationError"),
        # A session policy the evaluator cannot read made every call of the session a 500
        ({"Policy": json.dumps({"Statement": "x"})}, "MalformedPolicyDocument"),
        ({"Policy": policy({"Effect": "Allow", "Action": "*"})}, "MalformedPolicyDocument"),
        ({"Policy": policy({**allow("*"), "Effect": "Maybe"})}, "MalformedPolicyDocument"),
        (
            {"Policy": policy({**allow("*"), "Condition": {"StringEqualz": {"aws:userid": "x"}}})},
            "MalformedPolicyDocument",
        ),
    ],
)
def test_assume_role_parameters_are_validated_as_aws_does(endpoint, world, extra, code):
    arguments = {"RoleArn": world["read"], "RoleSessionName": "probe", **extra}
    sts = boto3.client(  # botocore's own checks off: the probe sends what the server must refuse
        "sts",
        endpoint_url=endpoint["url"],
        region_name=REGION,
        config=Config(parameter_validation=False),
        **world["user"],
    )
    with pytest.raises(ClientError) as raised:
        sts.assume_role(**arguments)
    assert raised.value.response["Error"]["Code"] == code
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_expired_session_is_refused(endpoint, world):
    credentials = client(endpoint, "sts", world["user"]).assume_role(
        RoleArn=world["read"], RoleSessionName="short", DurationSeconds=900
    )["Credentials"]
    iam = client(endpoint, "iam", session_credentials(credentials))
    iam.get_role(RoleName=world["read_name"])
    # Let the session run out (moto keeps its expiry; the layer caches principals).
    session = sts_backends[ACCOUNT]["aws"].get_assumed_role_from_access_key(
        credentials["AccessKeyId"]
    )
    session.expiration = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=1)
    endpoint["layer"].principals.invalidate()
    assert_client_error(lambda: iam.get_role(RoleName=world["read_name"]), "ExpiredToken")


# --------------------------------------------------------------------------- beyond AssumeRole


def test_the_read_role_cannot_give_itself_more(endpoint, world):
    credentials = client(endpoint, "sts", world["user"]).assume_role(
        RoleArn=world["read"], RoleSessionName="escalate"
    )["Credentials"]
    iam = client(endpoint, "iam", session_credentials(credentials))
    message = assert_client_error(
        lambda: iam.put_role_policy(
            RoleName=world["read_name"],
            PolicyName="post-too",
            PolicyDocument=policy(allow("execute-api:Invoke")),
        ),
        "AccessDenied",
    )
    assert "iam:PutRolePolicy" in message
    unknown = client(endpoint, "iam", UNKNOWN)
    assert_client_error(
        lambda: unknown.put_role_policy(
            RoleName=world["read_name"],
            PolicyName="post-too",
            PolicyDocument=policy(allow("execute-api:Invoke")),
        ),
        "InvalidClientTokenId",
    )
    names = client(endpoint, "iam").list_role_policies(RoleName=world["read_name"])
    assert names["PolicyNames"] == ["read"]


def test_the_log_table_is_closed_to_unknown_keys_and_roles_without_permission(endpoint, world):
    item = {"pk": {"S": "probe"}}
    unknown = client(endpoint, "dynamodb", UNKNOWN)
    assert_client_error(
        lambda: unknown.put_item(TableName=world["table"], Item=item),
        "UnrecognizedClientException",
    )
    assert_client_error(
        lambda: unknown.scan(TableName=world["table"]), "UnrecognizedClientException"
    )
    read = client(endpoint, "sts", world["user"]).assume_role(
        RoleArn=world["read"], RoleSessionName="table"
    )["Credentials"]
    reader = client(endpoint, "dynamodb", session_credentials(read))
    message = assert_client_error(
        lambda: reader.put_item(TableName=world["table"], Item=item), "AccessDeniedException"
    )
    assert "dynamodb:PutItem" in message and world["table_arn"] in message
    assert_client_error(lambda: reader.scan(TableName=world["table"]), "AccessDeniedException")
    assert client(endpoint, "dynamodb").scan(TableName=world["table"])["Count"] == 0


def new_user(endpoint, prefix: str):
    """A user without any policy: (its name, its access key, its DynamoDB client)."""
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    client(endpoint, "iam").create_user(UserName=name)
    key = client(endpoint, "iam").create_access_key(UserName=name)["AccessKey"]
    credentials = {
        "aws_access_key_id": key["AccessKeyId"],
        "aws_secret_access_key": key["SecretAccessKey"],
    }
    return name, key, client(endpoint, "dynamodb", credentials)


def test_policy_changes_take_effect_on_the_next_call(endpoint, world):
    iam = client(endpoint, "iam")
    name, key, late = new_user(endpoint, "late")
    assert_client_error(lambda: late.list_tables(), "AccessDeniedException")
    iam.put_user_policy(
        UserName=name, PolicyName="list", PolicyDocument=policy(allow("dynamodb:ListTables"))
    )
    assert world["table"] in late.list_tables()["TableNames"]
    iam.update_access_key(UserName=name, AccessKeyId=key["AccessKeyId"], Status="Inactive")
    assert_client_error(lambda: late.list_tables(), "UnrecognizedClientException")


# --------------------------------------------------------------------------- malformed requests


def test_malformed_requests_get_4xx_never_5xx(endpoint, world):
    url = endpoint["url"] + "/"
    bad_length = requests.Request(
        "POST", url, data=assume_body(world["full"]), headers={"Content-Type": FORM}
    ).prepare()
    bad_length.headers["Content-Length"] = "abc"
    with requests.Session() as http:
        response = http.send(bad_length, timeout=30)
    assert 400 <= response.status_code < 500, response.text
    missing_name = signed_post(
        endpoint,
        "sts",
        f"Action=AssumeRole&Version=2011-06-15&RoleArn={world['read']}",
        world["user"],
    )
    assert_refused(missing_name, "ValidationError", 400)
    as_text = signed_post(
        endpoint,
        "sts",
        assume_body(world["read"]),
        world["user"],
        {"Content-Type": "text/plain"},
    )
    assert 400 <= as_text.status_code < 500, as_text.text
    assert "SecretAccessKey" not in as_text.text


def test_moto_control_api_cannot_reset_the_account(endpoint, world):
    reset = requests.post(endpoint["url"] + "/moto-api/reset", timeout=30)
    assert_refused(reset, "AccessDenied")
    assert requests.get(endpoint["url"] + "/moto-api/", timeout=30).status_code == 200
    tables = client(endpoint, "dynamodb").list_tables()["TableNames"]
    assert world["table"] in tables  # nothing was reset


def test_moto_control_api_does_not_hand_out_its_state(endpoint, world):
    """``/moto-api/data.json`` is every model moto tracks: access keys with their secrets."""
    secret = world["user"]["aws_secret_access_key"]
    for path in ("/moto-api/data.json", "/moto-api/recorder/download-recording"):
        dumped = requests.get(endpoint["url"] + path, timeout=30)
        assert_refused(dumped, "AccessDenied")
        assert secret not in dumped.text


@pytest.mark.parametrize(
    "headers",
    [
        # A credential scope naming DynamoDB without its X-Amz-Target (moto: KeyError)
        {"Authorization": "AWS4-HMAC-SHA256 Credential=AKIAX/20260101/us-east-1/dynamodb/x"},
        # A scope naming a service moto has no backend for (moto: AttributeError)
        {"Authorization": "AWS4-HMAC-SHA256 Credential=AKIAX/20260101/us-east-1/cloudwatch/x"},
        {"Authorization": "garbage"},
        {"Authorization": "AWS4-HMAC-SHA256"},
        {"X-Amz-Target": "nodot"},
    ],
)
def test_a_request_moto_cannot_route_is_a_400_not_a_500(endpoint, headers):
    response = requests.post(
        endpoint["url"] + "/",
        data="Action=GetCallerIdentity&Version=2011-06-15",
        headers={"Content-Type": FORM, **headers},
        timeout=30,
    )
    assert_refused(response, "InvalidAction", 400)


def test_control_prefix_reaches_no_moto_operation(endpoint):
    """Only the local stack's own control paths pass unsigned: behind the layer, moto serves
    any other ``/_slsops/...`` path as S3 (a bucket named ``_slsops``)."""
    scope = "AKIAUNKNOWNKEY000001/20260101/us-east-1/s3/aws4_request"
    fake = {
        "Authorization": f"AWS4-HMAC-SHA256 Credential={scope}, "
        + "SignedHeaders=host, Signature=00"
    }
    created = requests.put(endpoint["url"] + "/_slsops/", headers=fake, timeout=30)
    assert created.status_code == 404, created.text
    written = requests.put(endpoint["url"] + "/_slsops/key", data=b"x", headers=fake, timeout=30)
    assert written.status_code == 404, written.text
    buckets = client(endpoint, "s3").list_buckets()["Buckets"]
    assert "_slsops" not in [bucket["Name"] for bucket in buckets]
    faults = requests.get(endpoint["url"] + "/_slsops/faults", timeout=30)
    assert faults.status_code == 200, faults.text  # the fault plan's admin path still answers


@pytest.mark.parametrize(
    ("service", "call", "denied", "unknown"),
    [
        ("cloudwatch", lambda c: c.describe_alarms(), "AccessDenied", "InvalidClientTokenId"),
        (
            "lambda",
            lambda c: c.list_functions(),
            "AccessDeniedException",
            "UnrecognizedClientException",
        ),
        (
            "apigateway",
            lambda c: c.get_rest_apis(),
            "AccessDeniedException",
            "UnrecognizedClientException",
        ),
        ("kms", lambda c: c.list_keys(), "AccessDeniedException", "UnrecognizedClientException"),
        (
            "logs",
            lambda c: c.describe_log_groups(),
            "AccessDeniedException",
            "UnrecognizedClientException",
        ),
        ("sns", lambda c: c.list_topics(), "AccessDenied", "InvalidClientTokenId"),
        (
            "config",
            lambda c: c.describe_config_rules(),
            "AccessDeniedException",
            "UnrecognizedClientException",
        ),
    ],
)
def test_every_service_refuses_in_its_own_error_shape(endpoint, service, call, denied, unknown):
    iam = client(endpoint, "iam")
    name = f"nobody-{uuid.uuid4().hex[:6]}"
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    nobody = {
        "aws_access_key_id": key["AccessKeyId"],
        "aws_secret_access_key": key["SecretAccessKey"],
    }
    message = assert_client_error(lambda: call(client(endpoint, service, nobody)), denied)
    assert f"user/{name} is not authorized to perform: " in message
    assert_client_error(lambda: call(client(endpoint, service, UNKNOWN)), unknown)


def test_a_policy_removed_refuses_the_next_call_though_decisions_are_remembered(endpoint, world):
    iam = client(endpoint, "iam")
    name, _, user = new_user(endpoint, "revoked")
    iam.put_user_policy(
        UserName=name, PolicyName="list", PolicyDocument=policy(allow("dynamodb:ListTables"))
    )
    for _ in range(3):  # the second and third answers come from the remembered decision
        assert world["table"] in user.list_tables()["TableNames"]
    iam.delete_user_policy(UserName=name, PolicyName="list")
    assert_client_error(lambda: user.list_tables(), "AccessDeniedException")


@pytest.mark.parametrize("declared", ["abc", "-5", "\u00b2", " 1\u00b2 "])
def test_a_content_length_that_is_not_ascii_digits_is_refused_with_400(declared):
    """Header bytes arrive as Latin-1: "\u00b2" is a digit to str.isdigit() that int() refuses
    (a 500 from the embedded AWS instead of its 400)."""
    import io

    from slsops.local.authz.layer import read_body

    refusal = read_body({"CONTENT_LENGTH": declared, "wsgi.input": io.BytesIO(b"{}")})
    assert refusal.status == 400, refusal
