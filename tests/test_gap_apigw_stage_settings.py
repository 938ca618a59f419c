"""Gap: a CreateDeployment naming an existing stage keeps the stage's settings, as on AWS.

moto replaces the stage, dropping throttling, access logging and tracing; the test that runs
plain moto shows it, the others run the embedded AWS with the gap fixes.
"""

from __future__ import annotations

import boto3
import pytest
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from slsops.local.aws_app import build_moto_app, serve_in_thread

REGION = "us-east-1"
LOG_GROUP = "arn:aws:logs:us-east-1:123456789012:log-group:access"
SETTINGS = [
    {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "50"},
    {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "20"},
    {"op": "replace", "path": "/*/*/metrics/enabled", "value": "true"},
    {"op": "replace", "path": "/tracingEnabled", "value": "true"},
    {"op": "replace", "path": "/description", "value": "production"},
    {"op": "replace", "path": "/accessLogSettings/destinationArn", "value": LOG_GROUP},
    {"op": "replace", "path": "/accessLogSettings/format", "value": "$context.requestId"},
]


def deployed_api(url: str) -> tuple[object, str]:
    """An API with one MOCK method, deployed to stage ``prod``, whose settings are then set."""
    client = boto3.client(
        "apigateway",
        region_name=REGION,
        endpoint_url=url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    api_id = client.create_rest_api(name="stage-settings")["id"]
    root = client.get_resources(restApiId=api_id)["items"][0]["id"]
    client.put_method(restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="NONE")
    client.put_integration(restApiId=api_id, resourceId=root, httpMethod="GET", type="MOCK")
    client.create_deployment(restApiId=api_id, stageName="prod", variables={"colour": "blue"})
    client.update_stage(restApiId=api_id, stageName="prod", patchOperations=SETTINGS)
    return client, api_id


def settings_of(stage: dict) -> dict:
    return {
        "methodSettings": stage.get("methodSettings"),
        "accessLogSettings": stage.get("accessLogSettings"),
        "tracingEnabled": stage.get("tracingEnabled"),
        "description": stage.get("description"),
    }


def test_plain_moto_drops_the_stage_settings_on_redeploy() -> None:
    with serve_in_thread(DomainDispatcherApplication(create_backend_app)) as url:
        client, api_id = deployed_api(url)
        client.create_deployment(restApiId=api_id, stageName="prod")
        stage = client.get_stage(restApiId=api_id, stageName="prod")
    assert not stage.get("methodSettings") and not stage.get("tracingEnabled")


@pytest.fixture(scope="module")
def embedded_aws():
    with serve_in_thread(build_moto_app()) as url:
        yield url


def test_redeploying_a_stage_keeps_throttling_access_logging_and_tracing(embedded_aws) -> None:
    client, api_id = deployed_api(embedded_aws)
    before = client.get_stage(restApiId=api_id, stageName="prod")
    assert before["methodSettings"]["*/*"]["throttlingRateLimit"] == 50.0
    deployment = client.create_deployment(restApiId=api_id, stageName="prod")["id"]
    after = client.get_stage(restApiId=api_id, stageName="prod")
    assert after["deploymentId"] == deployment != before["deploymentId"]
    assert settings_of(after) == settings_of(before)
    assert after["accessLogSettings"]["destinationArn"] == LOG_GROUP
    assert after["tracingEnabled"] is True
    assert after["variables"] == {"colour": "blue"}


def test_variables_given_with_the_deployment_are_set_on_the_kept_stage(embedded_aws) -> None:
    client, api_id = deployed_api(embedded_aws)
    client.create_deployment(restApiId=api_id, stageName="prod", variables={"size": "large"})
    stage = client.get_stage(restApiId=api_id, stageName="prod")
    assert stage["variables"] == {"colour": "blue", "size": "large"}
    assert stage["methodSettings"]["*/*"]["throttlingBurstLimit"] == 20


def test_a_new_stage_name_creates_a_fresh_stage(embedded_aws) -> None:
    client, api_id = deployed_api(embedded_aws)
    client.create_deployment(restApiId=api_id, stageName="canary")
    stage = client.get_stage(restApiId=api_id, stageName="canary")
    assert not stage.get("methodSettings") and not stage.get("tracingEnabled")
    assert client.get_stage(restApiId=api_id, stageName="prod")["tracingEnabled"] is True
