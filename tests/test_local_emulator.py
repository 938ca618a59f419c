"""The API Gateway emulator in process, against an in-process embedded AWS (no Terraform).

A small REST API (AWS_IAM and NONE methods, a request validator, a path parameter) in front of
a toy function that echoes its event is built with boto3 on moto behind the gap fixes; the
emulator runs in this process with a clock the tests set, so signature and credential expiry
are tested exactly. The full stack (real Terraform, real handlers) is in test_local_stack.py.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import logging
import socket
import threading
import time
import zipfile
from typing import Any
from unittest import mock

import boto3
import pytest
import requests
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from werkzeug.serving import make_server
from werkzeug.test import Client

from slsops.local import deployment_snapshot
from slsops.local.aws_app import build_moto_app, serve_in_thread
from slsops.local.emulator import ApiGatewayEmulator, GatewayRequestHandler
from slsops.local.lambda_workers import LambdaWorkers

REGION = "us-east-1"
ACCOUNT = "123456789012"
ADMIN = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
STAGE = "test"

TOY_HANDLER = """
import json, os, time

JSON = {"Content-Type": "application/json"}


def handler(event, context):
    path = event["path"]
    if path == "/crash":
        raise RuntimeError("boom")
    if path == "/slow":
        time.sleep(5)
    if path == "/malformed":
        return {"statusCode": "not a number"}
    if path == "/whoami":
        import boto3

        arn = boto3.client("sts").get_caller_identity()["Arn"]
        key = os.environ["AWS_ACCESS_KEY_ID"]
        return {"statusCode": 200, "headers": JSON, "body": json.dumps({"arn": arn, "key": key})}
    if path == "/read":
        import boto3
        from botocore.exceptions import ClientError

        try:
            boto3.client("dynamodb").get_item(TableName="toy-table", Key={"pk": {"S": "a"}})
        except ClientError as exc:
            return {"statusCode": 403, "headers": JSON, "body": json.dumps(exc.response["Error"])}
        return {"statusCode": 200, "body": "{}"}
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {"X-Multi": ["a", "b"]},
        "body": json.dumps({
            "event": event,
            "context": {
                "aws_request_id": context.aws_request_id,
                "function_name": context.function_name,
                "memory_limit_in_mb": context.memory_limit_in_mb,
                "invoked_function_arn": context.invoked_function_arn,
                "remaining_ms": context.get_remaining_time_in_millis(),
            },
            "env": {k: os.environ.get(k) for k in ("GREETING", "AWS_ENDPOINT_URL", "AWS_REGION")},
        }),
    }
"""

ITEM_SCHEMA = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "type": "object",
    "required": ["name"],
    "properties": {"name": {"type": "string", "maxLength": 20}},
}


def toy_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("toy.py", TOY_HANDLER)
    return buffer.getvalue()


class Api:
    """The deployed toy API and the handles the tests need."""

    def __init__(
        self,
        url: str,
        creds: dict[str, str] | None = None,
        name: str = "toy",
        timeout_s: int = 2,  # the timeout tests wait it out: short
    ) -> None:
        self.url, self.timeout_s = url, timeout_s
        self.name = name  # of the function (its role is "<name>-fn"): unique per moto process
        session = boto3.Session(region_name=REGION, **(creds or ADMIN))
        self.iam = session.client("iam", endpoint_url=url)
        self.apigw = session.client("apigateway", endpoint_url=url)
        self.lam = session.client("lambda", endpoint_url=url)
        self.sts = session.client("sts", endpoint_url=url)

    def build(self) -> None:
        role = self.iam.create_role(
            RoleName=f"{self.name}-fn",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )["Role"]["Arn"]
        self.function_arn = self.lam.create_function(
            FunctionName=self.name,
            Runtime="python3.11",
            Role=role,
            Handler="toy.handler",
            Code={"ZipFile": toy_zip()},
            Timeout=self.timeout_s,
            MemorySize=256,
            Environment={"Variables": {"GREETING": "hello"}},
        )["FunctionArn"]
        self.api_id = self.apigw.create_rest_api(name="toy")["id"]
        root = self.apigw.get_resources(restApiId=self.api_id)["items"][0]["id"]
        self.model = self.apigw.create_model(
            restApiId=self.api_id,
            name="Item",
            contentType="application/json",
            schema=json.dumps(ITEM_SCHEMA),
        )
        self.validator = self.apigw.create_request_validator(
            restApiId=self.api_id,
            name="all",
            validateRequestBody=True,
            validateRequestParameters=True,
        )["id"]
        self.resources: dict[str, str] = {}
        for path in ("items", "open", "crash", "slow", "malformed", "whoami", "read"):
            self.resources[f"/{path}"] = self.apigw.create_resource(
                restApiId=self.api_id, parentId=root, pathPart=path
            )["id"]
        self.resources["/items/{id}"] = self.apigw.create_resource(
            restApiId=self.api_id, parentId=self.resources["/items"], pathPart="{id}"
        )["id"]
        self.put(
            "/items", "GET", "AWS_IAM", requestParameters={"method.request.querystring.q": True}
        )
        self.put("/items", "POST", "AWS_IAM", requestModels={"application/json": "Item"})
        self.put("/items/{id}", "GET", "AWS_IAM")
        for path in ("/open", "/crash", "/slow", "/malformed", "/whoami", "/read"):
            self.put(path, "GET", "NONE")
        self.lam.add_permission(
            FunctionName=self.name,
            StatementId="api-gateway",
            Action="lambda:InvokeFunction",
            Principal="apigateway.amazonaws.com",
            SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{self.api_id}/*",
        )
        self.apigw.create_deployment(restApiId=self.api_id, stageName=STAGE)

    def put(self, path: str, verb: str, auth: str, **extra: Any) -> None:
        rid = self.resources[path]
        self.apigw.put_method(
            restApiId=self.api_id,
            resourceId=rid,
            httpMethod=verb,
            authorizationType=auth,
            requestValidatorId=self.validator,
            **extra,
        )
        self.apigw.put_integration(
            restApiId=self.api_id,
            resourceId=rid,
            httpMethod=verb,
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/"
            f"{self.function_arn}/invocations",
        )

    def redeploy(self) -> None:
        deployment = self.apigw.create_deployment(restApiId=self.api_id)["id"]
        self.apigw.update_stage(
            restApiId=self.api_id,
            stageName=STAGE,
            patchOperations=[{"op": "replace", "path": "/deploymentId", "value": deployment}],
        )

    def user(self, name: str, resources: list[str] | None) -> Credentials:
        self.iam.create_user(UserName=name)
        if resources is not None:
            self.iam.put_user_policy(
                UserName=name,
                PolicyName="invoke",
                PolicyDocument=json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": "execute-api:Invoke",
                                "Resource": resources,
                            }
                        ],
                    }
                ),
            )
        key = self.iam.create_access_key(UserName=name)["AccessKey"]
        return Credentials(key["AccessKeyId"], key["SecretAccessKey"])


class Clock:
    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory):
    with serve_in_thread(build_moto_app()) as url:
        api = Api(url)
        api.build()
        arn = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api.api_id}"
        api.caller = api.user(
            "caller",
            [f"{arn}/{STAGE}/GET/items", f"{arn}/{STAGE}/GET/items/*", f"{arn}/{STAGE}/POST/items"],
        )
        api.getter = api.user("getter", [f"{arn}/{STAGE}/GET/*"])
        api.nobody = api.user("nobody", None)
        workers = LambdaWorkers(url, tmp_path_factory.mktemp("logs"), pool_size=1)
        clock = Clock()
        emulator = ApiGatewayEmulator(workers, clock=clock)
        emulator.serve_api(api.api_id, ACCOUNT, REGION)
        try:
            yield api, emulator, clock, Client(emulator)
        finally:
            workers.close()


def signed(
    creds: Credentials,
    method: str,
    path: str,
    body: bytes = b"",
    *,
    region: str = REGION,
    service: str = "execute-api",
    at: float | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Headers of a request signed with botocore's SigV4 signer (optionally at time ``at``)."""
    request = AWSRequest(
        method=method, url=f"http://localhost{path}", data=body, headers=dict(headers or {})
    )
    moment = dt.datetime.fromtimestamp(at or time.time(), tz=dt.UTC).replace(tzinfo=None)
    with mock.patch("botocore.auth.get_current_datetime", return_value=moment):
        SigV4Auth(creds, service, region).add_auth(request)
    return dict(request.headers.items())


def call(client: Client, method: str, path: str, body: bytes = b"", headers=None):
    response = client.open(path, method=method, data=body, headers=headers or {})
    return response.status_code, response.get_json(silent=True), response


def test_signed_request_reaches_the_function_with_a_proxy_event(env) -> None:
    api, _, _, client = env
    status, body, response = call(
        client,
        "GET",
        "/test/items/42?q=1&q=2&x=y",
        headers=signed(api.caller, "GET", "/test/items/42?q=1&q=2&x=y"),
    )
    assert status == 200, body
    event = body["event"]
    assert event["resource"] == "/items/{id}" and event["path"] == "/items/42"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"id": "42"}
    assert event["queryStringParameters"] == {"q": "2", "x": "y"}
    assert event["multiValueQueryStringParameters"] == {"q": ["1", "2"], "x": ["y"]}
    assert event["body"] is None and event["isBase64Encoded"] is False
    ctx = event["requestContext"]
    assert ctx["stage"] == STAGE and ctx["apiId"] == api.api_id and ctx["accountId"] == ACCOUNT
    assert ctx["identity"]["userArn"] == f"arn:aws:iam::{ACCOUNT}:user/caller"
    assert ctx["identity"]["accessKey"] == api.caller.access_key
    assert ctx["requestId"] == response.headers["x-amzn-RequestId"]
    assert abs(ctx["requestTimeEpoch"] / 1000 - time.time()) < 60
    assert body["context"]["function_name"] == "toy"
    assert body["context"]["memory_limit_in_mb"] == 256
    assert body["context"]["invoked_function_arn"] == api.function_arn
    assert 0 < body["context"]["remaining_ms"] <= 2000
    assert body["env"] == {"GREETING": "hello", "AWS_ENDPOINT_URL": api.url, "AWS_REGION": REGION}
    assert response.headers.getlist("X-Multi") == ["a", "b"]


def test_unsigned_request_to_an_iam_method_is_refused(env) -> None:
    _, _, _, client = env
    status, body, response = call(client, "GET", "/test/items?q=1")
    assert (status, body) == (403, {"message": "Missing Authentication Token"})
    assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"


def test_unknown_route_method_and_stage_are_refused_as_api_gateway_does(env) -> None:
    _, _, _, client = env
    assert call(client, "GET", "/test/nothing")[:2] == (
        403,
        {"message": "Missing Authentication Token"},
    )
    assert call(client, "DELETE", "/test/open")[0] == 403
    assert call(client, "GET", "/other-stage/open")[0] == 403


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"region": "eu-west-1"}, "Credential should be scoped to a valid region"),
        ({"service": "s3"}, "Credential should be scoped to correct service"),
    ],
)
def test_wrong_scope_is_refused(env, change, fragment) -> None:
    api, _, _, client = env
    path = "/test/items?q=1"
    status, body, _ = call(client, "GET", path, headers=signed(api.caller, "GET", path, **change))
    assert status == 403 and fragment in body["message"]


def test_tampered_signature_and_body_are_refused(env) -> None:
    api, _, _, client = env
    headers = signed(
        api.caller,
        "POST",
        "/test/items",
        b'{"name": "a"}',
        headers={"Content-Type": "application/json"},
    )
    status, body, _ = call(client, "POST", "/test/items", b'{"name": "b"}', headers)
    assert status == 403 and body["message"].startswith("The request signature we calculated")
    headers["Authorization"] = headers["Authorization"][:-1] + (
        "0" if headers["Authorization"][-1] != "0" else "1"
    )
    status, _, _ = call(client, "POST", "/test/items", b'{"name": "a"}', headers)
    assert status == 403


def test_unknown_access_key_is_refused(env) -> None:
    _, _, _, client = env
    stranger = Credentials("AKIAEXAMPLEUNKNOWN01", "x" * 40)
    status, body, _ = call(
        client, "GET", "/test/items?q=1", headers=signed(stranger, "GET", "/test/items?q=1")
    )
    assert (status, body) == (
        403,
        {"message": "The security token included in the request is invalid."},
    )


def test_signature_expires_by_the_emulator_clock(env) -> None:
    api, _, clock, client = env
    path = "/test/items?q=1"
    headers = signed(api.caller, "GET", path)
    clock.offset = 301
    try:
        status, body, _ = call(client, "GET", path, headers=headers)
    finally:
        clock.offset = 0
    assert status == 403 and body["message"].startswith("Signature expired")
    assert call(client, "GET", path, headers=headers)[0] == 200  # same request, clock back


def test_expired_session_credentials_are_refused(env) -> None:
    api, _, clock, client = env
    api.iam.create_role(
        RoleName="short",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "sts:AssumeRole",
                        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/caller"},
                    }
                ],
            }
        ),
    )
    api.iam.put_role_policy(
        RoleName="short",
        PolicyName="invoke",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}],
            }
        ),
    )
    sts = boto3.client(
        "sts",
        endpoint_url=api.url,
        region_name=REGION,
        aws_access_key_id=api.caller.access_key,
        aws_secret_access_key=api.caller.secret_key,
    )
    answer = sts.assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/short",
        RoleSessionName="short-session",
        DurationSeconds=900,
    )["Credentials"]
    creds = Credentials(answer["AccessKeyId"], answer["SecretAccessKey"], answer["SessionToken"])
    path = "/test/items?q=1"
    assert call(client, "GET", path, headers=signed(creds, "GET", path))[0] == 200
    later = time.time() + 3600  # the credentials lasted 900 s; the signature itself is fresh
    clock.offset = 3600
    try:
        status, body, _ = call(client, "GET", path, headers=signed(creds, "GET", path, at=later))
    finally:
        clock.offset = 0
    assert status == 403 and "expired" in body["message"]


def test_caller_without_invoke_on_the_method_is_refused(env) -> None:
    api, _, _, client = env
    for creds in (api.getter, api.nobody):
        headers = signed(
            creds,
            "POST",
            "/test/items",
            b'{"name": "a"}',
            headers={"Content-Type": "application/json"},
        )
        status, body, _ = call(client, "POST", "/test/items", b'{"name": "a"}', headers)
        assert status == 403
        assert "is not authorized to perform: execute-api:Invoke" in body["message"]
    headers = signed(api.getter, "GET", "/test/items?q=1")
    assert call(client, "GET", "/test/items?q=1", headers=headers)[0] == 200


def test_request_validator_checks_body_and_required_parameters(env) -> None:
    api, _, _, client = env
    ok = b'{"name": "short"}'
    for bad in (b'{"name": 5}', b"{not json", b'{"other": 1}', b""):
        headers = signed(
            api.caller, "POST", "/test/items", bad, headers={"Content-Type": "application/json"}
        )
        assert call(client, "POST", "/test/items", bad, headers)[:2] == (
            400,
            {"message": "Invalid request body"},
        ), bad
    headers = signed(
        api.caller, "POST", "/test/items", ok, headers={"Content-Type": "application/json"}
    )
    status, body, _ = call(client, "POST", "/test/items", ok, headers)
    assert status == 200 and body["event"]["body"] == ok.decode()
    status, body, _ = call(
        client, "GET", "/test/items", headers=signed(api.caller, "GET", "/test/items")
    )
    assert (status, body) == (400, {"message": "Missing required request parameters: [q]"})


def test_non_utf8_body_is_base64_encoded(env) -> None:
    _, _, _, client = env
    status, body, _ = call(client, "GET", "/test/open", b"\xff\xfe\x00raw")
    assert status == 200
    assert body["event"]["isBase64Encoded"] is True
    assert base64.b64decode(body["event"]["body"]) == b"\xff\xfe\x00raw"


def test_payload_over_10_mb_is_refused(env) -> None:
    _, _, _, client = env
    status, body, _ = call(client, "GET", "/test/open", b"x" * (10 * 1024 * 1024 + 1))
    assert status == 413 and "message" in body


@pytest.mark.parametrize("path", ["/test/crash", "/test/slow", "/test/malformed"])
def test_function_failure_is_a_502(env, path) -> None:
    _, _, _, client = env
    assert call(client, "GET", path)[:2] == (502, {"message": "Internal server error"})
    assert call(client, "GET", "/test/open")[0] == 200  # a fresh environment serves again


def test_method_change_takes_effect_only_after_a_new_deployment(env) -> None:
    api, _, _, client = env
    assert call(client, "GET", "/test/items/7")[0] == 403
    api.put("/items/{id}", "GET", "NONE")
    try:
        assert call(client, "GET", "/test/items/7")[0] == 403, "changed before deployment"
        api.redeploy()
        status, body, _ = call(client, "GET", "/test/items/7")
        assert status == 200 and body["event"]["requestContext"]["identity"]["userArn"] is None
    finally:
        api.put("/items/{id}", "GET", "AWS_IAM")
        api.redeploy()
    assert call(client, "GET", "/test/items/7")[0] == 403


def test_stage_method_throttling_answers_429(env) -> None:
    api, _, _, client = env
    patch = [
        {"op": "replace", "path": "/~1open/GET/throttling/rateLimit", "value": "0.001"},
        {"op": "replace", "path": "/~1open/GET/throttling/burstLimit", "value": "1"},
    ]
    api.apigw.update_stage(restApiId=api.api_id, stageName=STAGE, patchOperations=patch)
    try:
        assert call(client, "GET", "/test/open")[0] == 200
        assert call(client, "GET", "/test/open")[:2] == (429, {"message": "Too Many Requests"})
    finally:
        api.apigw.update_stage(
            restApiId=api.api_id,
            stageName=STAGE,
            patchOperations=[
                {"op": "replace", "path": "/~1open/GET/throttling/rateLimit", "value": "10000"},
                {"op": "replace", "path": "/~1open/GET/throttling/burstLimit", "value": "5000"},
            ],
        )


def test_get_deployment_apisummary_shows_what_the_deployment_serves(env) -> None:
    api, _, _, _ = env

    def summary() -> dict:
        stage = api.apigw.get_stage(restApiId=api.api_id, stageName=STAGE)
        deployment = api.apigw.get_deployment(
            restApiId=api.api_id, deploymentId=stage["deploymentId"], embed=["apisummary"]
        )
        return deployment["apiSummary"]

    assert summary()["/items/{id}"]["GET"]["authorizationType"] == "AWS_IAM"
    assert summary()["/open"]["GET"]["authorizationType"] == "NONE"
    api.put("/items/{id}", "GET", "NONE")
    try:
        assert summary()["/items/{id}"]["GET"]["authorizationType"] == "AWS_IAM"
        api.redeploy()
        assert summary()["/items/{id}"]["GET"]["authorizationType"] == "NONE"
    finally:
        api.put("/items/{id}", "GET", "AWS_IAM")
        api.redeploy()
    assert summary()["/items/{id}"]["GET"]["authorizationType"] == "AWS_IAM"
    plain = api.apigw.get_deployment(
        restApiId=api.api_id,
        deploymentId=api.apigw.get_stage(restApiId=api.api_id, stageName=STAGE)["deploymentId"],
    )
    assert "apiSummary" not in plain


# ------------------------------------------------------------------------- invoke permission


def test_gateway_needs_the_functions_resource_policy_to_invoke(env) -> None:
    api, _, _, client = env
    api.lam.remove_permission(FunctionName="toy", StatementId="api-gateway")
    try:
        status, body, response = call(client, "GET", "/test/open")
        assert (status, body) == (500, {"message": "Internal server error"})
        assert response.headers["x-amzn-ErrorType"] == "InternalServerErrorException"
    finally:
        api.lam.add_permission(
            FunctionName="toy",
            StatementId="api-gateway",
            Action="lambda:InvokeFunction",
            Principal="apigateway.amazonaws.com",
            SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api.api_id}/*",
        )
    assert call(client, "GET", "/test/open")[0] == 200


def test_an_alias_needs_its_own_permission_for_the_invoked_source_arn(env) -> None:
    api, _, _, client = env
    api.lam.create_alias(FunctionName="toy", Name="live", FunctionVersion="$LATEST")
    root = api.apigw.get_resources(restApiId=api.api_id)["items"]
    root_id = next(r["id"] for r in root if r["path"] == "/")
    api.resources["/aliased"] = api.apigw.create_resource(
        restApiId=api.api_id, parentId=root_id, pathPart="aliased"
    )["id"]
    api.put("/aliased", "GET", "NONE")
    api.apigw.put_integration(
        restApiId=api.api_id,
        resourceId=api.resources["/aliased"],
        httpMethod="GET",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/"
        f"{api.function_arn}:live/invocations",
    )
    api.redeploy()
    # The unqualified function's permission does not cover the alias, as on AWS.
    assert call(client, "GET", "/test/aliased")[:2] == (500, {"message": "Internal server error"})
    execute = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api.api_id}"
    api.lam.add_permission(
        FunctionName="toy",
        Qualifier="live",
        StatementId="other-route",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"{execute}/{STAGE}/POST/aliased",
    )
    assert call(client, "GET", "/test/aliased")[0] == 500, "a permission for another method"
    api.lam.add_permission(
        FunctionName="toy",
        Qualifier="live",
        StatementId="this-route",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"{execute}/{STAGE}/GET/aliased",
    )
    status, body, _ = call(client, "GET", "/test/aliased")
    assert status == 200 and body["context"]["invoked_function_arn"] == f"{api.function_arn}:live"


# ------------------------------------------------------------------------- snapshots


def test_a_deployment_without_a_snapshot_fails_loudly(env, caplog) -> None:
    api, _, _, client = env
    deployment_snapshot.clear()
    try:
        with caplog.at_level(logging.ERROR, logger="slsops.local.emulator"):
            status, body, _ = call(client, "GET", "/test/open")
        assert (status, body) == (500, {"message": "Internal server error"})
        assert "has no snapshot" in caplog.text
    finally:
        api.redeploy()
    assert call(client, "GET", "/test/open")[0] == 200


# ------------------------------------------------------------------------- the HTTP edge


class QuickTimeoutHandler(GatewayRequestHandler):
    timeout = 1.0  # the stack's is longer; a short one keeps the stalled-client tests brief


@pytest.fixture(scope="module")
def served(env):
    """The emulator on a loopback socket behind the stack's request handler."""
    _, emulator, _, _ = env
    server = make_server(
        "127.0.0.1", 0, emulator, threaded=True, request_handler=QuickTimeoutHandler
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def raw_exchange(port: int, request: bytes) -> tuple[int, bytes]:
    """Send raw bytes (the socket left open, as a stalling client would) and read the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as conn:
        conn.sendall(request)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    answer = b"".join(chunks)
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
    return status, answer.partition(b"\r\n\r\n")[2]


@pytest.mark.parametrize("length", ["abc", "-5", "1e3", "5, 5", "\u00b2", "\u00b9\u00b2"])
def test_a_malformed_content_length_is_a_400(served, length) -> None:
    """Header bytes arrive as Latin-1: the byte B2 is "\u00b2", a digit to str.isdigit()
    that int() refuses (was a 500 from the gateway)."""
    request = f"POST /test/open HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\nhello"
    status, body = raw_exchange(served, request.encode("latin-1"))
    assert status == 400, body


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"POST /test/open HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nab\r\n",
        b"GET /test/open HTTP/9.9\r\nHost: x\r\n\r\n",
        b"GET\r\n\r\n",
    ],
    ids=["broken-chunk", "http-9.9", "no-path"],
)
def test_a_malformed_request_is_a_400_with_a_status_line(served, request_bytes) -> None:
    status, body = raw_exchange(served, request_bytes)
    assert status == 400 and "message" in json.loads(body)


def test_a_body_shorter_than_its_content_length_times_out_with_a_408(served) -> None:
    request = b"POST /test/open HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly ten b"
    status, body = raw_exchange(served, request)
    assert status == 408 and json.loads(body) == {"message": "Request Timeout"}


def test_a_stalled_header_block_is_closed_by_the_read_timeout(served) -> None:
    status, _ = raw_exchange(served, b"GET /test/open HTTP/1.1\r\nHost: x\r\n")
    assert status == 0  # the server hung up on the stalled client; nothing was served


def test_many_small_headers_within_10240_bytes_pass(served) -> None:
    headers = "".join(f"X-H{i}: v\r\n" for i in range(150))  # Python's http.server stops at 100
    request = f"GET /test/open HTTP/1.1\r\nHost: x\r\n{headers}\r\n"
    status, body = raw_exchange(served, request.encode())
    assert status == 200, body


def test_request_line_and_header_values_over_10240_bytes_are_refused(served) -> None:
    headers = "".join(f"X-H{i}: {'v' * 1000}\r\n" for i in range(11))
    request = f"GET /test/open HTTP/1.1\r\nHost: x\r\n{headers}\r\n"
    status, body = raw_exchange(served, request.encode())
    assert status == 431 and "10240" in json.loads(body)["message"]


def test_a_presigned_url_reaches_an_iam_method(env, served) -> None:
    api, _, _, _ = env
    request = AWSRequest(
        method="GET", url=f"http://127.0.0.1:{served}/test/items", params={"q": "1"}
    )
    SigV4QueryAuth(api.caller, "execute-api", REGION, expires=60).add_auth(request)
    url = request.prepare().url
    response = requests.get(url, timeout=30)
    assert response.status_code == 200, response.text
    ctx = response.json()["event"]["requestContext"]
    assert ctx["identity"]["userArn"] == f"arn:aws:iam::{ACCOUNT}:user/caller"
    tampered = url.replace("q=1", "q=2")
    assert requests.get(tampered, timeout=30).status_code == 403


# ------------------------------------------------------------------------- execution role


def test_the_function_runs_with_its_execution_roles_session(env) -> None:
    _, _, _, client = env
    status, body, _ = call(client, "GET", "/test/whoami")
    assert status == 200, body
    assert body["arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/toy-fn/toy"
    assert body["key"].startswith("ASIA") and body["key"] != "test"


def test_workers_get_a_new_session_before_the_old_one_expires(env, tmp_path) -> None:
    api, emulator, _, client = env
    eager = LambdaWorkers(api.url, tmp_path, pool_size=1, refresh_margin=dt.timedelta(hours=2))
    original, emulator.workers = emulator.workers, eager
    try:
        first = call(client, "GET", "/test/whoami")[1]["key"]
        second = call(client, "GET", "/test/whoami")[1]["key"]
    finally:
        emulator.workers = original
        eager.close()
    assert first != second  # each session was within the margin of its end: renewed
