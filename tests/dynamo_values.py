"""Random DynamoDB attribute values in wire form, for the speed patches' differential tests."""

from __future__ import annotations

import random
from typing import Any

MALFORMED = ({"X": "1"}, {"S": 5}, {"N": None}, {}, {"S": "a", "N": "1"})


def random_wire_value(
    rng: random.Random,
    depth: int = 0,
    *,
    binary: tuple[Any, ...] = ("AP8=",),
    malformed: bool = False,
) -> dict[str, Any]:
    """One value of any type (maps and lists nested up to three deep); ``binary`` gives the
    forms a binary value may take, ``malformed`` adds values DynamoDB would refuse."""
    kinds = ["S", "N", "BOOL", "NULL", "B", "SS", "NS", "BS"] + (["bad"] if malformed else [])
    if depth < 3:
        kinds += ["M", "L"]
    kind = rng.choice(kinds)
    if kind == "S":
        return {"S": rng.choice(["", "x", "é", "1", "a b"])}
    if kind == "N":
        return {"N": rng.choice(["0", "-1.5", "1e3"])}
    if kind == "BOOL":
        return {"BOOL": rng.random() < 0.5}
    if kind == "NULL":
        return {"NULL": True}
    if kind == "B":
        return {"B": rng.choice(binary)}
    if kind == "SS":
        return {"SS": ["a", "b"]}
    if kind == "NS":
        return {"NS": ["1", "2"]}
    if kind == "BS":
        return {"BS": list(binary)}
    if kind == "bad":
        return dict(rng.choice(MALFORMED))
    nested = {"binary": binary, "malformed": malformed}
    if kind == "M":
        count = rng.randrange(0, 3)
        return {"M": {f"k{n}": random_wire_value(rng, depth + 1, **nested) for n in range(count)}}
    return {"L": [random_wire_value(rng, depth + 1, **nested) for _ in range(rng.randrange(0, 3))]}
