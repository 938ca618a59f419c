"""Differential test: the lock-free moto routing picks the same service app as moto's own."""

from __future__ import annotations

import itertools
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.test import EnvironBuilder

from slsops.local.speed import moto_routing

SIGNED_SERVICES = (
    "dynamodb",
    "sts",
    "iam",
    "kms",
    "lambda",
    "apigateway",
    "logs",
    "sns",
    "sqs",
    "s3",
    "monitoring",
    "events",
    "config",
    "ssm",
    "execute-api",
    "tagging",
)
REGIONS = ("us-east-1", "eu-west-1")


def _requests() -> list[dict]:
    """EnvironBuilder options; each call builds a fresh environ (moto reads the body)."""
    requests = []
    for service, region in itertools.product(SIGNED_SERVICES, REGIONS):
        auth = (
            f"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/{region}/{service}/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=0123"
        )
        headers = {"Authorization": auth}
        if service == "dynamodb":  # moto tells DynamoDB from DynamoDB Streams by the target
            headers["X-Amz-Target"] = "DynamoDB_20120810.Query"
        requests.append({"path": "/", "method": "POST", "headers": headers})
    unsigned = [
        {"path": "/moto-api/data.json"},
        {"path": "/latest/meta-data/iam/"},
        {"path": "/", "headers": {"X-Amz-Target": "AWSCognitoIdentityService.GetId"}},
        {"path": "/", "headers": {"Authorization": "AWS AKID:signature-v2"}},
        {
            "path": "/",
            "method": "POST",
            "data": "Action=AssumeRoleWithWebIdentity&Version=2011-06-15",
            "content_type": "application/x-www-form-urlencoded",
        },
        {"path": "/some-bucket/key"},
    ]
    return requests + unsigned


def _backend_of(dispatcher: DomainDispatcherApplication, app: object) -> str:
    return next(name for name, known in dispatcher.app_instances.items() if known is app)


def test_routing_decisions_match_moto() -> None:
    moto_routing.install()
    original = moto_routing._originals["get_application"]
    plain = DomainDispatcherApplication(create_backend_app)
    patched = DomainDispatcherApplication(create_backend_app)
    for _ in range(2):  # the second pass is answered from what the first remembered
        for options in _requests():
            expected = _backend_of(plain, original(plain, EnvironBuilder(**options).get_environ()))
            got = _backend_of(
                patched, patched.get_application(EnvironBuilder(**options).get_environ())
            )
            assert got == expected, options
    assert "dynamodb" in patched.app_instances and "moto_api" in patched.app_instances


def test_one_app_per_service_when_threads_race() -> None:
    moto_routing.install()
    dispatcher = DomainDispatcherApplication(create_backend_app)
    options = _requests()[0]
    apps: list[object] = []
    start = threading.Barrier(8)

    def route() -> None:
        start.wait(timeout=10)
        apps.append(dispatcher.get_application(EnvironBuilder(**options).get_environ()))

    threads = [threading.Thread(target=route) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(apps) == 8 and len({id(app) for app in apps}) == 1
