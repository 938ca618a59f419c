"""The drill's ``validate`` phase: is the restored table what the source held at the point?

Schema and encryption against the source's description, the bulk comparison (``compare``),
the canaries (``canary``), and the restored index: its contents against the restored table's
(``index``) and a few sampled source entries read back through it with the read API's query
(the index is what the read API uses, so a table whose index does not serve is not usable).
"""

from __future__ import annotations

from typing import Any

from log_service import keys
from slsops.drill import canary, compare, index, settings
from slsops.drill.checksum import canonical_item
from slsops.drill.result import DrillOptions, DrillResult


def validate(
    client: Any,
    result: DrillResult,
    canaries: canary.Canaries,
    source_desc: dict[str, Any],
    source_tally: compare.Tally,
    window: compare.PointWindow,
    options: DrillOptions,
) -> dict[str, Any]:
    """Fill the result's validation fields; return the restored table's description."""
    table = str(result.drill_table)
    restored_desc = client.describe_table(TableName=table)["Table"]
    result.schema_differences = settings.schema_differences(source_desc, restored_desc)
    result.encryption = {
        "source": settings.sse(source_desc),
        "restored": settings.sse(restored_desc),
    }
    index_keys = index.key_names(restored_desc, options.index_name)
    restored_tally = compare.tally(
        client,
        table,
        window,
        options.segments,
        options.threads,
        index_keys=index_keys,
        restored=True,
    )
    verdict = compare.compare(
        client,
        result.source_table,
        source_tally,
        table,
        restored_tally,
        window,
        options.segments,
        options.threads,
    )
    result.comparison = comparison_record(window, options, source_tally, restored_tally, verdict)
    result.canaries = canary.verify(client, result.source_table, table, canaries)
    if restored_tally.index is None:  # DRL-002 names the schema difference
        result.index_contents = {"error": f"the restored table has no index {options.index_name}"}
        return restored_desc
    result.index_reads = index_reads(client, table, options.index_name, source_tally.sample)
    result.index_contents = index.compare_index(
        client, table, options.index_name, restored_tally.index, options.segments, options.threads
    )
    return restored_desc


def comparison_record(
    window: compare.PointWindow,
    options: DrillOptions,
    source: compare.Tally,
    restored: compare.Tally,
    verdict: compare.Verdict,
) -> dict[str, Any]:
    explained = (restored.before_sum - verdict.explained_sum) % compare.MODULUS
    return {
        "guard_s": options.guard_s,
        "before_at_most": window.before_at_most,
        "after_above": window.after_above,
        "ttl_now": window.now,
        "point_chosen_by": "user" if window.point_chosen_by_user else "drill",
        "source": source.as_dict(),
        "restored": restored.as_dict(),
        "restored_checksum_before_less_lost": f"{explained:064x}",
        **verdict.as_dict(),
    }


def index_reads(
    client: Any, table: str, index_name: str, sample: list[dict[str, Any]]
) -> dict[str, Any]:
    """Read sampled source entries back through the restored table's index."""
    missing, differing = [], []
    for item in sample:
        shard = (item.get(keys.INDEX_PARTITION_KEY) or {}).get("N")
        sort_key = (item.get(keys.SORT_KEY) or {}).get("S")
        if shard is None or sort_key is None:
            continue
        page = client.query(
            TableName=table,
            IndexName=index_name,
            KeyConditionExpression="#p = :p AND #s = :s",
            ExpressionAttributeNames={"#p": keys.INDEX_PARTITION_KEY, "#s": keys.INDEX_SORT_KEY},
            ExpressionAttributeValues={":p": {"N": shard}, ":s": {"S": sort_key}},
        )
        partition = item[keys.PARTITION_KEY]["S"]
        found = [i for i in page.get("Items", []) if i[keys.PARTITION_KEY]["S"] == partition]
        key = f"{partition}/{sort_key}"
        if not found:
            missing.append(key)
        elif canonical_item(found[0]) != canonical_item(item):
            differing.append(key)
    return {"checked": len(sample), "missing": missing, "differing": differing}
