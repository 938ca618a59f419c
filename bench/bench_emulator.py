"""Cost of the API Gateway emulator per request, and the time from `local up` to ready.

Part 1 (in process, no Terraform): a toy API on an in-process embedded AWS whose function
echoes a small response. Measured side by side in one run:

- direct:    the handler called in this process with a ready event (the floor);
- gateway:   SigV4 verification + authorization (``check_iam``) + proxy event building, i.e.
             the emulator's own work per request (goal: <= 2 ms on this machine);
- emulator:  a full signed request through the emulator's WSGI app (routing, validation, the
             gateway work, the worker round trip to the function's process, response mapping).

Part 2: ``slsops local up --detach`` on free ports until the stack file is written, then
``slsops local down`` (skip with --no-up).

    python bench/bench_emulator.py [--requests 300] [--no-up]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from werkzeug.test import Client

from slsops.local.aws_app import build_moto_app, serve_in_thread
from slsops.local.emulator import ApiGatewayEmulator
from slsops.local.iam_gate import RequestParts, check_iam
from slsops.local.lambda_workers import LambdaWorkers
from slsops.local.proxy_event import CallerIdentity, RouteMatch, build_event

REGION, ACCOUNT, STAGE = "us-east-1", "123456789012", "bench"
ADMIN = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
HANDLER = (
    "import json\n"
    "def handler(event, context):\n"
    "    return {'statusCode': 200, 'headers': {'Content-Type': 'application/json'},\n"
    "            'body': json.dumps({'path': event['path'], 'n': len(event['headers'] or {})})}\n"
)


def build_api(url: str) -> tuple[str, Credentials]:
    session = boto3.Session(region_name=REGION, **ADMIN)
    iam, apigw, lam = (session.client(s, endpoint_url=url) for s in ("iam", "apigateway", "lambda"))
    role = iam.create_role(
        RoleName="bench-fn",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "sts:AssumeRole",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("bench_fn.py", HANDLER)
    fn = lam.create_function(
        FunctionName="bench",
        Runtime="python3.11",
        Role=role,
        Handler="bench_fn.handler",
        Code={"ZipFile": buffer.getvalue()},
        Timeout=10,
    )["FunctionArn"]
    api = apigw.create_rest_api(name="bench")["id"]
    root = apigw.get_resources(restApiId=api)["items"][0]["id"]
    rid = apigw.create_resource(restApiId=api, parentId=root, pathPart="logs")["id"]
    apigw.put_method(restApiId=api, resourceId=rid, httpMethod="GET", authorizationType="AWS_IAM")
    apigw.put_integration(
        restApiId=api,
        resourceId=rid,
        httpMethod="GET",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{fn}/invocations",
    )
    lam.add_permission(  # the gateway invokes only what the function's policy allows
        FunctionName="bench",
        StatementId="api-gateway",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api}/*",
    )
    apigw.create_deployment(restApiId=api, stageName=STAGE)
    iam.create_user(UserName="bench")
    iam.put_user_policy(
        UserName="bench",
        PolicyName="invoke",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "execute-api:Invoke",
                        "Resource": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api}/{STAGE}/*",
                    }
                ],
            }
        ),
    )
    key = iam.create_access_key(UserName="bench")["AccessKey"]
    return api, Credentials(key["AccessKeyId"], key["SecretAccessKey"])


def timed(fn, count: int) -> list[float]:
    samples = []
    for _ in range(count):
        began = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - began) * 1000)
    return samples


def describe(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"median {statistics.median(ordered):7.3f} ms   p95 {p95:7.3f} ms"


def bench_requests(count: int) -> None:
    with serve_in_thread(build_moto_app()) as url, tempfile.TemporaryDirectory() as logs:
        api_id, creds = build_api(url)
        workers = LambdaWorkers(url, Path(logs), pool_size=1)
        emulator = ApiGatewayEmulator(workers)
        emulator.serve_api(api_id, ACCOUNT, REGION)
        client = Client(emulator)
        path = f"/{STAGE}/logs?limit=10"
        request = AWSRequest(method="GET", url=f"http://localhost{path}", headers={})
        SigV4Auth(creds, "execute-api", REGION).add_auth(request)
        headers = dict(request.headers.items())
        assert client.get(path, headers=headers).status_code == 200  # warm the worker
        pairs = [(k, v) for k, v in headers.items()] + [("Host", "localhost")]
        method_arn = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/{STAGE}/GET/logs"
        route = RouteMatch("r", "/logs", {})

        def proxy_event(identity: CallerIdentity) -> dict:
            """The Lambda proxy event of the benchmark's GET, as the emulator builds it."""
            return build_event(
                method="GET",
                path="/logs",
                raw_query="limit=10",
                header_pairs=pairs,
                body=b"",
                route=route,
                stage=STAGE,
                stage_variables={},
                api_id=api_id,
                account_id=ACCOUNT,
                region=REGION,
                request_id="r",
                identity=identity,
                source_ip="127.0.0.1",
            )

        def gateway_work() -> None:
            verdict = check_iam(
                RequestParts("GET", f"/{STAGE}/logs", "limit=10", pairs, b""),
                region=REGION,
                method_arn=method_arn,
                now=time.time(),
                source_ip="127.0.0.1",
            )
            assert verdict.allowed, verdict.message
            proxy_event(verdict.identity or CallerIdentity())

        namespace: dict = {}
        exec(compile(HANDLER, "bench_fn.py", "exec"), namespace)  # noqa: S102 - our constant
        event = proxy_event(CallerIdentity())

        def full() -> None:
            assert client.get(path, headers=headers).status_code == 200

        direct = timed(lambda: namespace["handler"](event, None), count)
        gateway = timed(gateway_work, count)
        emulated = timed(full, count)
        workers.close()
    d, g, e = (statistics.median(x) for x in (direct, gateway, emulated))
    print(f"requests per variant: {count}")
    print(f"  direct handler call        {describe(direct)}")
    print(
        f"  gateway work (sigv4+authz+event) {describe(gateway)}"
        f"   goal <= 2 ms: {'met' if g <= 2.0 else 'MISSED'}"
    )
    print(f"  full emulator request      {describe(emulated)}")
    print(
        f"  overhead per request: gateway work {g - 0:.3f} ms, whole emulator {e - d:.3f} ms; "
        f"ratio emulator/direct {e / d if d else float('inf'):.0f}x, gateway/direct "
        f"{g / d if d else float('inf'):.0f}x"
    )


def bench_up() -> None:
    with tempfile.TemporaryDirectory() as folder:
        stack = Path(folder) / "stack.json"
        began = time.perf_counter()
        up = subprocess.run(  # noqa: S603  our own CLI, argv list
            [
                sys.executable,
                "-m",
                "slsops.cli",
                "local",
                "up",
                "--detach",
                "--aws-port",
                "0",
                "--api-port",
                "0",
                "--stack",
                str(stack),
            ],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        ready = time.perf_counter() - began
        if up.returncode != 0:
            print(f"local up failed (exit {up.returncode}): {up.stderr.strip()[-300:]}")
            return
        began = time.perf_counter()
        subprocess.run(  # noqa: S603  our own CLI, argv list
            [
                sys.executable,
                "-m",
                "slsops.cli",
                "local",
                "down",
                "--stack",
                str(stack),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        for line in up.stderr.splitlines():
            if " done in " in line:
                print(f"    {line.removeprefix('slsops local: ')}")
        print(
            f"local up --detach -> ready: {ready:.1f} s; local down: "
            f"{time.perf_counter() - began:.1f} s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--no-up", action="store_true", help="skip the local up timing")
    args = parser.parse_args()
    print("== bench_emulator: per-request cost (direct vs emulator)")
    bench_requests(args.requests)
    if not args.no_up:
        print("== bench_emulator: time from `local up` to ready")
        bench_up()


if __name__ == "__main__":
    main()
