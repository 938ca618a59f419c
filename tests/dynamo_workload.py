"""A random run of DynamoDB data-plane calls, for tests that compare two ways of serving them."""

from __future__ import annotations

import json
import random
import re
from typing import Any


def random_calls(ddb: Any, table: str, seed: int) -> list[Any]:
    """A random run of data-plane calls; their answers with ids and the table name blanked."""
    rng = random.Random(seed)
    answers: list[Any] = []
    for step in range(60):
        p, s = f"p{rng.randrange(3)}", str(rng.randrange(10))
        key = {"p": {"S": p}, "s": {"N": s}}
        item = key | {"v": {"S": f"v{step}"}, "n": {"N": str(step)}}
        operation, kwargs = rng.choice(
            [
                ("put_item", {"Item": item}),
                ("put_item", {"Item": item, "ConditionExpression": "attribute_not_exists(p)"}),
                (
                    "query",
                    {
                        "KeyConditionExpression": "p = :p AND s >= :s",
                        "ExpressionAttributeValues": {":p": {"S": p}, ":s": {"N": s}},
                        "ScanIndexForward": bool(step % 2),
                        "Limit": 1 + step % 4,
                    },
                ),
                ("get_item", {"Key": key}),
                (
                    "update_item",
                    {
                        "Key": key,
                        "UpdateExpression": "ADD n :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                        "ReturnValues": "ALL_NEW",
                    },
                ),
            ]
        )
        try:
            answer = getattr(ddb, operation)(TableName=table, **kwargs)
            answer.pop("ResponseMetadata", None)
        except ddb.exceptions.ClientError as exc:
            answer = {"error": exc.response["Error"]["Code"]}
        answers.append(json.loads(re.sub(table, "T", json.dumps(answer, default=str))))
    return answers


def create_table(ddb: Any, name: str) -> None:
    """An on-demand table keyed by ``p`` (string) and ``s`` (number), as random_calls expects."""
    ddb.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "p", "KeyType": "HASH"},
            {"AttributeName": "s", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "p", "AttributeType": "S"},
            {"AttributeName": "s", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
