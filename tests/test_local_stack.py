"""The local stack end to end: real Terraform apply, real handlers, the emulator enforcing IAM.

Uses the session's one stack (``local_stack`` in conftest.py). Every change made to the
deployment here is reverted, by boto3 against the embedded AWS (no re-apply).
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from requests_aws4auth import AWS4Auth

from slsops.deployment.api_client import LogApiClient, Signing, assume_role, foreign_credentials
from slsops.deployment.stack import Stack

SLSOPS = [sys.executable, "-m", "slsops.cli"]


def entry(service: str = "stack-test") -> dict[str, Any]:
    return {"service_name": service, "level": "INFO", "message": f"hello {uuid.uuid4()}"}


@pytest.fixture(scope="module")
def roles(local_stack: Stack) -> dict[str, Any]:
    return {role: assume_role(local_stack, role) for role in ("ingest", "read", "full")}


@pytest.mark.stack
def test_each_role_can_do_exactly_what_its_policy_allows(local_stack, roles) -> None:
    service = f"roles-{uuid.uuid4().hex[:8]}"
    with LogApiClient(local_stack, roles["ingest"]) as ingest:
        created = ingest.post_logs(entry(service))
        assert created.status_code == 201, created.text
        denied = ingest.get_recent(service_name=service)
        assert denied.status_code == 403
        assert "not authorized to perform: execute-api:Invoke" in denied.json()["message"]
    with LogApiClient(local_stack, roles["read"]) as read:
        found = read.get_recent(service_name=service)
        assert found.status_code == 200, found.text
        assert [e["log_id"] for e in found.json()["logs"]] == [created.json()["log_id"]]
        assert read.post_logs(entry(service)).status_code == 403
    with LogApiClient(local_stack, roles["full"]) as full:
        assert full.post_logs(entry(service)).status_code == 201
        assert len(full.get_recent(service_name=service).json()["logs"]) == 2


@pytest.mark.stack
@pytest.mark.parametrize(
    ("signing", "fragment"),
    [
        (None, "Missing Authentication Token"),
        (Signing.TAMPERED, "The request signature we calculated does not match"),
        (Signing.STALE, "Signature expired"),
    ],
)
def test_unsigned_and_badly_signed_calls_are_refused(local_stack, roles, signing, fragment):
    credentials = None if signing is None else roles["full"]
    with LogApiClient(local_stack, credentials, signing=signing or Signing.VALID) as client:
        response = client.get_recent(limit=1)
    assert response.status_code == 403
    assert fragment in response.json()["message"]


@pytest.mark.stack
@pytest.mark.parametrize(
    ("region", "service"), [("eu-west-1", "execute-api"), ("us-east-1", "lambda")]
)
def test_signature_scoped_to_another_region_or_service_is_refused(
    local_stack, roles, region, service
) -> None:
    creds = roles["full"]
    auth = AWS4Auth(creds.access_key, creds.secret_key, region, service, session_token=creds.token)
    response = requests.get(f"{local_stack.api_url}/logs/recent", auth=auth, timeout=30)
    assert response.status_code == 403
    assert "Credential should be scoped" in response.json()["message"]


@pytest.mark.stack
def test_unknown_credentials_are_refused(local_stack) -> None:
    with LogApiClient(local_stack, foreign_credentials()) as client:
        response = client.get_recent(limit=1)
    assert response.status_code == 403
    assert response.json() == {"message": "The security token included in the request is invalid."}


@pytest.mark.stack
def test_handler_validation_and_gateway_validation_answer_400(local_stack, roles) -> None:
    with LogApiClient(local_stack, roles["full"]) as client:
        assert client.get_recent(limit=5000).status_code == 400
        response = client.post_logs(b"{not json")
    assert response.status_code == 400


# --------------------------------------------------------------------------- deployment changes


def admin_session(stack: Stack) -> Any:
    """The stack's administrator when it has one (changes the operator may not make), else the
    operator."""
    import boto3

    creds = stack.get("local_admin_credentials") or stack.get("local_credentials") or {}
    return boto3.Session(
        aws_access_key_id=creds.get("access_key_id"),
        aws_secret_access_key=creds.get("secret_access_key"),
        region_name=stack.region,
    )


class Deployment:
    """Change GET /logs/recent in the embedded AWS and put it back exactly (boto3, no apply)."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.apigw = stack.client("apigateway", admin_session(stack))  # beyond the operator
        self.api_id = stack["api_id"]
        resources = self.apigw.get_resources(restApiId=self.api_id)["items"]
        self.resource_id = next(r["id"] for r in resources if r["path"] == "/logs/recent")
        self.original = self.apigw.get_method(
            restApiId=self.api_id, resourceId=self.resource_id, httpMethod="GET"
        )
        stage = self.apigw.get_stage(restApiId=self.api_id, stageName=stack["stage_name"])
        self.original_deployment = stage["deploymentId"]
        self.created: list[str] = []

    def put_method(self, authorization: str) -> None:
        """moto has no UpdateMethod: PutMethod + PutIntegration with the original fields."""
        method = self.original
        args = {
            k: method[k]
            for k in ("requestParameters", "requestModels", "requestValidatorId", "apiKeyRequired")
            if k in method
        }
        self.apigw.put_method(
            restApiId=self.api_id,
            resourceId=self.resource_id,
            httpMethod="GET",
            authorizationType=authorization,
            **args,
        )
        integration = method["methodIntegration"]
        extra = {
            k: integration[k]
            for k in (
                "timeoutInMillis",
                "passthroughBehavior",
                "contentHandling",
                "cacheKeyParameters",
            )
            if integration.get(k) not in (None, [], {})
        }
        self.apigw.put_integration(
            restApiId=self.api_id,
            resourceId=self.resource_id,
            httpMethod="GET",
            type=integration["type"],
            uri=integration["uri"],
            integrationHttpMethod=integration.get("httpMethod", "POST"),
            **extra,
        )

    def deploy(self) -> None:
        deployment = self.apigw.create_deployment(restApiId=self.api_id)["id"]
        self.created.append(deployment)
        self.point_stage_at(deployment)

    def point_stage_at(self, deployment: str) -> None:
        self.apigw.update_stage(
            restApiId=self.api_id,
            stageName=self.stack["stage_name"],
            patchOperations=[{"op": "replace", "path": "/deploymentId", "value": deployment}],
        )

    def revert(self) -> None:
        self.put_method(self.original["authorizationType"])
        self.point_stage_at(self.original_deployment)
        for deployment in self.created:
            with contextlib.suppress(Exception):
                self.apigw.delete_deployment(restApiId=self.api_id, deploymentId=deployment)


@contextlib.contextmanager
def changed_deployment(stack: Stack) -> Iterator[Deployment]:
    deployment = Deployment(stack)
    try:
        yield deployment
    finally:
        deployment.revert()


def unsigned_get(stack: Stack) -> requests.Response:
    return requests.get(f"{stack.api_url}/logs/recent", params={"limit": 1}, timeout=30)


@pytest.mark.stack
def test_deployment_with_authorization_none_accepts_unsigned_calls(local_stack) -> None:
    assert unsigned_get(local_stack).status_code == 403
    with changed_deployment(local_stack) as deployment:
        deployment.put_method("NONE")
        deployment.deploy()
        response = unsigned_get(local_stack)
        assert response.status_code == 200, response.text
        assert "logs" in response.json()
    assert unsigned_get(local_stack).status_code == 403


@pytest.mark.stack
def test_method_changed_without_a_deployment_keeps_the_deployed_behaviour(local_stack) -> None:
    with changed_deployment(local_stack) as deployment:
        deployment.put_method("NONE")
        assert (
            deployment.apigw.get_method(
                restApiId=deployment.api_id, resourceId=deployment.resource_id, httpMethod="GET"
            )["authorizationType"]
            == "NONE"
        )
        assert unsigned_get(local_stack).status_code == 403


# --------------------------------------------------------------------------- commands


@pytest.mark.stack
def test_status_seed_and_doctor_on_the_running_stack(local_stack, roles) -> None:
    status = subprocess.run(  # noqa: S603  our own CLI, argv list
        [*SLSOPS, "local", "status", "--json", "--stack", str(local_stack.path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["state"] == "up"
    seeded = subprocess.run(  # noqa: S603  our own CLI, argv list
        [
            *SLSOPS,
            "local",
            "seed",
            "--count",
            "120",
            "--services",
            "3",
            "--stack",
            str(local_stack.path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert seeded.returncode == 0, seeded.stderr
    assert "seeded 120 new, 0 duplicate, 0 failed" in seeded.stdout
    with LogApiClient(local_stack, roles["read"]) as read:
        page = read.get_recent(service_name="auth-service", limit=1000).json()
    assert page["logs"], "seeded entries are readable through the API"
    doctor = subprocess.run(  # noqa: S603  our own CLI, argv list
        [*SLSOPS, "doctor", "--stack", str(local_stack.path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr


def _free_port_held() -> socket.socket:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    return holder


def test_local_up_refuses_a_taken_port_with_one_line(tmp_path) -> None:
    with _free_port_held() as holder:
        port = holder.getsockname()[1]
        done = subprocess.run(  # noqa: S603  our own CLI, argv list
            [
                *SLSOPS,
                "local",
                "up",
                "--aws-port",
                str(port),
                "--api-port",
                "0",
                "--stack",
                str(tmp_path / "s.json"),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if not line.startswith("slsops local:")]
    assert errors == [  # progress lines aside, one line and no traceback
        f"slsops: error: port {port} on 127.0.0.1 is in use; pass --aws-port 0 to pick a free "
        "one or stop what holds it"
    ]
    assert not (tmp_path / "s.json").exists()


def test_local_up_without_terraform_names_what_is_missing(tmp_path) -> None:
    env = {**__import__("os").environ, "SLSOPS_TERRAFORM": str(tmp_path / "no-terraform")}
    done = subprocess.run(  # noqa: S603  our own CLI, argv list
        [
            *SLSOPS,
            "local",
            "up",
            "--detach",
            "--aws-port",
            "0",
            "--api-port",
            "0",
            "--stack",
            str(tmp_path / "s.json"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if not line.startswith("slsops local:")]
    assert len(lines) == 1 and "SLSOPS_TERRAFORM" in lines[0], lines
    assert not (tmp_path / "s.json").exists()


# --------------------------------------------------------------------------- redeploys


@pytest.mark.stack
def test_a_redeploy_to_the_stage_keeps_what_verify_checks(local_stack) -> None:
    apigw = local_stack.client("apigateway", admin_session(local_stack))
    api_id, stage_name = local_stack["api_id"], local_stack["stage_name"]
    original = apigw.get_stage(restApiId=api_id, stageName=stage_name)
    apigw.create_deployment(restApiId=api_id, stageName=stage_name, description="redeploy")
    try:
        stage = apigw.get_stage(restApiId=api_id, stageName=stage_name)
        assert stage["deploymentId"] != original["deploymentId"]
        report = subprocess.run(  # noqa: S603 - our own CLI
            [
                *SLSOPS,
                "verify",
                "--stack",
                str(local_stack.path),
                "--only",
                "API-005,API-006,API-008",
                "--format",
                "json",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        checks = {c["id"]: c for c in json.loads(report.stdout)["checks"]}
        assert {i: checks[i]["status"] for i in ("API-005", "API-006", "API-008")} == dict.fromkeys(
            ("API-005", "API-006", "API-008"), "PASS"
        ), report.stdout
    finally:
        apigw.update_stage(
            restApiId=api_id,
            stageName=stage_name,
            patchOperations=[
                {"op": "replace", "path": "/deploymentId", "value": original["deploymentId"]}
            ],
        )


def test_workers_per_function_come_from_the_environment(monkeypatch) -> None:
    from slsops.contract import numbers
    from slsops.errors import UsageError
    from slsops.local import lifecycle

    monkeypatch.delenv(numbers.LOCAL_WORKERS_ENV, raising=False)
    assert lifecycle.StackOptions(Path("s.json")).workers_per_function == 2
    monkeypatch.setenv(numbers.LOCAL_WORKERS_ENV, "4")
    assert lifecycle.StackOptions(Path("s.json")).workers_per_function == 4
    for bad in ("0", "17", "two", "-1", "\u00b2"):  # "\u00b2".isdigit(), but int() refuses it
        monkeypatch.setenv(numbers.LOCAL_WORKERS_ENV, bad)
        with pytest.raises(UsageError, match="SLSOPS_LOCAL_WORKERS"):
            lifecycle.StackOptions(Path("s.json"))


def test_local_up_refuses_a_worker_count_out_of_range_with_one_line(tmp_path) -> None:
    done = subprocess.run(  # noqa: S603  our own CLI, argv list
        [*SLSOPS, "local", "up", "--workers", "0", "--stack", str(tmp_path / "s.json")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "--workers" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "s.json").exists()
