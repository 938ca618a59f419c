"""The embedded AWS's cost per DynamoDB call, as the Lambda workers call it: before and now.

The local stack's load capacity is set by one Python process, the embedded AWS (moto, its gaps,
the authorisation layer): every API request is about 8 DynamoDB calls, each signed by a role
session, authenticated, authorised (identity policies and the table's KMS key policy), parsed
and executed. This benchmark serves one such embedded AWS in this process, with a table
encrypted by a customer-managed key, and a client process (like a Lambda worker: boto3,
connections kept in its pool, 4 threads) sends a fixed mix of calls: conditional PutItems of log
entries and newest-20 Queries. It measures this process's CPU time per call (the server's
cost alone; the client runs elsewhere) and the calls per second, side by side in one run:

- before: werkzeug's development server (a new connection and thread per call), moto parsing
  each request a second time after the authorisation layer and answering through Flask, every
  IAM decision evaluated anew, moto's locked backend lookups;
- now: the keep-alive server (``local.keepalive_server``), one parse (``speed.shared_parse``),
  no Flask for a parsed DynamoDB call (``speed.dynamodb_direct``), remembered decisions
  (``authz.decision_cache``) and backends of known accounts without the lock
  (``speed.moto_backends``).

Rounds alternate between the two; the best round of each is printed, with the ratio. Every
loop is bounded; nothing leaves loopback.

    python bench/bench_embedded_aws.py [--calls 400] [--rounds 3] [--threads 4]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.pop("AWS_ENDPOINT_URL", None)

import boto3  # noqa: E402
from tabulate import tabulate  # noqa: E402

from slsops.local.authz import decision_cache  # noqa: E402
from slsops.local.aws_app import build_moto_app, serve_in_thread  # noqa: E402
from slsops.local.gateway_http import READ_TIMEOUT_S  # noqa: E402
from slsops.local.keepalive_server import serving  # noqa: E402
from slsops.local.operator import create_admin  # noqa: E402
from slsops.local.speed import dynamodb_direct, moto_backends, shared_parse  # noqa: E402

REGION = "us-east-1"
TABLE = "bench-embedded-aws"
NEW_PATCHES = (shared_parse, dynamodb_direct, moto_backends)

CLIENT = r"""
import json, sys, threading, time, boto3
from botocore.config import Config
args = json.loads(sys.argv[1])
ddb = boto3.client("dynamodb", endpoint_url=args["url"], region_name="us-east-1",
                   config=Config(max_pool_connections=args["threads"], retries={"max_attempts": 1}),
                   **args["credentials"])
ddb.describe_table(TableName=args["table"])  # connect and warm before the clock starts
per_thread = args["calls"] // args["threads"]
errors = []
def work(index):
    for n in range(per_thread):
        key = f"{args['round']}-{index}-{n}"
        try:
            if n % 2:
                ddb.query(TableName=args["table"], KeyConditionExpression="service = :s",
                          ExpressionAttributeValues={":s": {"S": f"svc-{index}"}},
                          ScanIndexForward=False, Limit=20)
            else:
                ddb.put_item(TableName=args["table"],
                             ConditionExpression="attribute_not_exists(sk)",
                             Item={"service": {"S": f"svc-{index}"}, "sk": {"S": key},
                                   "level": {"S": "INFO"}, "message": {"S": "m" * 120}})
        except Exception as exc:
            errors.append(repr(exc))
print("ready", flush=True)
sys.stdin.readline()
began = time.perf_counter()
threads = [threading.Thread(target=work, args=(i,)) for i in range(args["threads"])]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps({"seconds": time.perf_counter() - began, "calls": per_thread * args["threads"],
                  "errors": errors[:3], "error_count": len(errors)}), flush=True)
"""


class NoDecisionCache:
    """Every decision evaluated anew, as before ``authz.decision_cache``."""

    def decide(self, principal, key, compute, other_documents=()):  # type: ignore[no-untyped-def]
        return compute()


@contextmanager
def keepalive(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    with serving(app, READ_TIMEOUT_S) as server:
        yield f"http://127.0.0.1:{server.port}"


def encrypted_table(url: str, admin: dict) -> None:
    kms = boto3.client("kms", endpoint_url=url, region_name=REGION, **admin)
    key_id = kms.create_key(Description="bench")["KeyMetadata"]["KeyId"]
    ddb = boto3.client("dynamodb", endpoint_url=url, region_name=REGION, **admin)
    ddb.create_table(
        TableName=TABLE,
        KeySchema=[
            {"AttributeName": "service", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "service", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
        SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key_id},
    )


def run_round(url: str, credentials: dict, calls: int, threads: int, index: int) -> dict:
    """One client process's burst; this process's CPU seconds while it ran."""
    spec = {"url": url, "credentials": credentials, "table": TABLE, "calls": calls}
    spec |= {"threads": threads, "round": index}
    client = subprocess.Popen(  # noqa: S603  this interpreter, our own script text
        [sys.executable, "-c", CLIENT, json.dumps(spec)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert client.stdout is not None and client.stdin is not None
    if client.stdout.readline().strip() != "ready":
        client.kill()
        raise SystemExit("the client process did not start")
    cpu_before = time.process_time()
    client.stdin.write("go\n")
    client.stdin.flush()
    result = json.loads(client.stdout.readline())
    result["server_cpu"] = time.process_time() - cpu_before
    client.wait(timeout=60)
    if result["error_count"]:
        raise SystemExit(f"{result['error_count']} calls failed, e.g. {result['errors']}")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()

    app = build_moto_app(enforce_iam=True)
    admin = create_admin().boto3_kwargs()
    best: dict[str, dict] = {}
    with serve_in_thread(app) as werkzeug_url, keepalive(app) as keepalive_url:
        encrypted_table(keepalive_url, admin)
        for index in range(args.rounds * 2):
            variant = "before" if index % 2 == 0 else "now"
            if variant == "before":
                for patch in NEW_PATCHES:
                    patch.uninstall()
                decision_cache.SHARED, remembered = NoDecisionCache(), decision_cache.SHARED
            try:
                url = werkzeug_url if variant == "before" else keepalive_url
                result = run_round(url, admin, args.calls, args.threads, index)
            finally:
                if variant == "before":
                    for patch in NEW_PATCHES:
                        patch.install()
                    decision_cache.SHARED = remembered
            if variant not in best or result["server_cpu"] < best[variant]["server_cpu"]:
                best[variant] = result

    rows = []
    for variant in ("before", "now"):
        found = best[variant]
        rows.append(
            [
                variant,
                f"{found['server_cpu'] * 1000 / found['calls']:.2f} ms",
                f"{found['calls'] / found['seconds']:.0f}",
            ]
        )
    cpu_ratio = best["before"]["server_cpu"] / best["now"]["server_cpu"]
    rate_ratio = (best["now"]["calls"] / best["now"]["seconds"]) / (
        best["before"]["calls"] / best["before"]["seconds"]
    )
    print(tabulate(rows, headers=["embedded AWS", "server CPU per call", "calls/s"]))
    print(
        f"now / before: {cpu_ratio:.2f}x less server CPU per call, {rate_ratio:.2f}x the calls/s "
        f"({args.calls} calls per round, {args.threads} client threads, best of {args.rounds})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
