"""Write rate of the local stack's DynamoDB with the PITR journal on and off, side by side.

Two tables on one in-process embedded AWS (moto with the local stack's gaps): one with
point-in-time recovery enabled (every write is journaled), one without (no journal). The same
PutItem load runs against each with several writer threads, then against both at once; the
ratio journal-on / journal-off is the journal's cost. A journal that serialised all writes
behind one lock would show up as a collapse of the both-at-once rate.

    python bench/bench_pitr_journal.py [--writes 600] [--threads 4]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import time
import uuid

import boto3

from log_service import keys
from slsops.local.aws_app import build_moto_app, serve_in_thread

REGION = "us-east-1"


def _client(endpoint: str):
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - the embedded AWS accepts any key
    )


def _create(endpoint: str, name: str, pitr: bool) -> None:
    ddb = _client(endpoint)
    ddb.create_table(**keys.table_definition(name))
    if pitr:
        ddb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )


def _item(index: int) -> dict:
    log_id = str(uuid.uuid4())
    stamp = keys.now_timestamp()
    return {
        keys.PARTITION_KEY: {"S": f"bench-{index % 7}"},
        keys.SORT_KEY: {"S": keys.sort_key(stamp, log_id)},
        keys.INDEX_PARTITION_KEY: {"N": str(keys.shard_for(log_id, 8))},
        "log_id": {"S": log_id},
        "message": {"S": "x" * 200},
    }


def _rate(endpoint: str, tables: list[str], writes: int, threads: int) -> float:
    """Writes per second of ``writes`` PutItems spread over ``tables`` by ``threads`` writers."""
    clients = [_client(endpoint) for _ in range(threads)]

    def write(index: int) -> None:
        clients[index % threads].put_item(TableName=tables[index % len(tables)], Item=_item(index))

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(write, range(writes)))
    return writes / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--writes", type=int, default=600)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    with serve_in_thread(build_moto_app()) as endpoint:
        _create(endpoint, "journal-on", pitr=True)
        _create(endpoint, "journal-off", pitr=False)
        _create(endpoint, "journal-on-2", pitr=True)
        _rate(endpoint, ["journal-off"], 50, args.threads)  # warm-up
        off = _rate(endpoint, ["journal-off"], args.writes, args.threads)
        on = _rate(endpoint, ["journal-on"], args.writes, args.threads)
        two = _rate(endpoint, ["journal-on", "journal-on-2"], args.writes, args.threads)
    print(f"{'case':<28}{'writes/s':>10}{'vs off':>9}")
    for label, rate in (
        ("journal off", off),
        ("journal on", on),
        ("journal on, two tables", two),
    ):
        print(f"{label:<28}{rate:>10.0f}{rate / off:>8.2f}x")


if __name__ == "__main__":
    main()
