"""A drift campaign: one kind of drift at a time on a running local stack, through the AWS APIs.

Each row changes one thing the way an operator, a script or a bad release would (configuration,
permissions, trust, alarms, encryption, integrations, the live alias), runs ``slsops verify`` or
``slsops roles`` on the checks of the family that must notice, and asserts that the named check
FAILs; then it reverts and asserts the same run passes again. One stack for the whole campaign,
two runs per drift.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from stack_breaks import (
    DECOY_TABLE,
    alarm_actions_removed,
    alarm_threshold_raised,
    auth_iam,
    auth_none,
    bad_release,
    bad_release_rolled_back,
    decoy_table,
    delete_alarm,
    deletion_protection_off,
    deletion_protection_on,
    drop_decoy_table,
    environment_back,
    environment_changed,
    function_setting_back,
    grant_read_function_delete_item,
    grant_read_put_item,
    integration_back,
    integration_not_proxy,
    integration_unqualified,
    key_disabled,
    key_enabled,
    key_policy_back,
    key_policy_without_services,
    memory,
    memory_back,
    pitr_off,
    pitr_on,
    read_timeout_changed,
    remove_invoke_permission,
    reserved_concurrency,
    reserved_concurrency_back,
    restore_alarm,
    restore_full_trust,
    restore_invoke_permission,
    restore_read_invoke,
    restore_trust,
    revoke_read_function_delete_item,
    revoke_read_invoke,
    revoke_read_put_item,
    rotation_off,
    rotation_on,
    run_cli,
    stack_pointing_at,
    statuses,
    trust_without_external_id,
    ttl_attribute_back,
    ttl_attribute_changed,
    widen_full_trust,
)

from slsops.deployment.stack import Stack


@dataclass(frozen=True)
class Drift:
    """One drift: what it is, how to apply and revert it, and who must catch it.

    ``scope``: the ``--only`` patterns of the run (the family that must notice). ``target``:
    the stack the run reads, made from what ``apply`` returned, when the drift replaces a
    resource the outputs name.
    """

    kind: str
    name: str
    command: str
    scope: tuple[str, ...]
    caught_by: str
    apply: Callable[[Stack], Any]
    revert: Callable[[Stack, Any], None]
    target: Callable[[Stack, Any, Path], Stack] | None = None

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.name}"


def _decoy_as_table(stack: Stack, arn: str, folder: Path) -> Stack:
    """The stack file with the decoy table (what ``decoy_table`` returned) as the log table."""
    return stack_pointing_at(stack, folder, table_name=DECOY_TABLE, table_arn=arn)


CAMPAIGN = [
    # configuration
    Drift("configuration", "pitr-off", "verify", ("DDB-*",), "DDB-006", pitr_off, pitr_on),
    Drift(
        "configuration",
        "deletion-protection-off",
        "verify",
        ("DDB-*",),
        "DDB-007",
        deletion_protection_off,
        deletion_protection_on,
    ),
    Drift(
        "configuration",
        "ttl-on-another-attribute",
        "verify",
        ("DDB-*",),
        "DDB-004",
        ttl_attribute_changed,
        ttl_attribute_back,
    ),
    Drift(
        "configuration",
        "function-environment",
        "verify",
        ("FN-*",),
        "FN-005",
        environment_changed,
        environment_back,
    ),
    Drift(
        "configuration",
        "function-timeout",
        "verify",
        ("FN-*",),
        "FN-003",
        read_timeout_changed,
        function_setting_back,
    ),
    Drift("configuration", "function-memory", "verify", ("FN-*",), "FN-002", memory, memory_back),
    Drift(
        "configuration",
        "reserved-concurrency",
        "verify",
        ("FN-*",),
        "FN-004",
        reserved_concurrency,
        reserved_concurrency_back,
    ),
    # permissions
    Drift(
        "permissions",
        "client-role-widened",
        "roles",
        ("ROLE-02*",),
        "ROLE-021",
        grant_read_put_item,
        revoke_read_put_item,
    ),
    Drift(
        "permissions",
        "client-role-policy-removed",
        "roles",
        ("ROLE-01*",),
        "ROLE-011",
        revoke_read_invoke,
        restore_read_invoke,
    ),
    Drift(
        "permissions",
        "execution-role-widened",
        "verify",
        ("FN-*",),
        "FN-010",
        grant_read_function_delete_item,
        revoke_read_function_delete_item,
    ),
    Drift(
        "permissions",
        "api-invoke-permission-removed",
        "verify",
        ("FN-*",),
        "FN-011",
        remove_invoke_permission,
        restore_invoke_permission,
    ),
    # trust
    Drift(
        "trust",
        "external-id-condition-removed",
        "roles",
        ("ROLE-00*", "ROLE-030"),
        "ROLE-005",
        trust_without_external_id,
        restore_trust,
    ),
    Drift(
        "trust",
        "principal-widened",
        "roles",
        ("ROLE-00*", "ROLE-030"),
        "ROLE-030",
        widen_full_trust,
        restore_full_trust,
    ),
    # alarms
    Drift("alarms", "alarm-deleted", "verify", ("CW-*",), "CW-001", delete_alarm, restore_alarm),
    Drift(
        "alarms",
        "threshold-raised",
        "verify",
        ("CW-*",),
        "CW-002",
        alarm_threshold_raised,
        restore_alarm,
    ),
    Drift(
        "alarms",
        "actions-removed",
        "verify",
        ("CW-*",),
        "CW-003",
        alarm_actions_removed,
        restore_alarm,
    ),
    # encryption
    Drift("encryption", "key-disabled", "verify", ("KMS-*",), "KMS-001", key_disabled, key_enabled),
    Drift("encryption", "rotation-off", "verify", ("KMS-*",), "KMS-002", rotation_off, rotation_on),
    Drift(
        "encryption",
        "key-policy-narrowed",
        "verify",
        ("KMS-*",),
        "KMS-004",
        key_policy_without_services,
        key_policy_back,
    ),
    # moto ignores UpdateTable's SSESpecification: the table is replaced by one without the CMK.
    Drift(
        "encryption",
        "table-without-cmk",
        "verify",
        ("DDB-*",),
        "DDB-005",
        decoy_table,
        drop_decoy_table,
        target=_decoy_as_table,
    ),
    # integrations
    Drift(
        "integrations",
        "integration-type",
        "verify",
        ("API-*",),
        "API-003",
        integration_not_proxy,
        integration_back,
    ),
    Drift(
        "integrations",
        "integration-uri",
        "verify",
        ("API-*",),
        "API-003",
        integration_unqualified,
        integration_back,
    ),
    Drift(
        "integrations",
        "method-authorization-none",
        "verify",
        ("API-*",),
        "API-002",
        auth_none,
        auth_iam,
    ),
    # a bad release moved onto the live alias
    Drift(
        "release",
        "bad-version-on-live-alias",
        "verify",
        ("FN-*",),
        "FN-005",
        bad_release,
        bad_release_rolled_back,
    ),
]


def _only(scope: tuple[str, ...]) -> list[str]:
    return [arg for pattern in scope for arg in ("--only", pattern)]


def test_the_campaign_covers_every_kind_of_drift() -> None:
    kinds = {d.kind for d in CAMPAIGN}
    assert kinds == {
        "configuration",
        "permissions",
        "trust",
        "alarms",
        "encryption",
        "integrations",
        "release",
    }
    assert len({d.id for d in CAMPAIGN}) == len(CAMPAIGN)


@pytest.mark.stack
@pytest.mark.parametrize("drift", CAMPAIGN, ids=lambda d: d.id)
def test_drift_is_caught_and_the_revert_passes(
    local_stack: Stack, tmp_path: Path, drift: Drift
) -> None:
    saved = drift.apply(local_stack)
    try:
        target = local_stack if drift.target is None else drift.target(local_stack, saved, tmp_path)
        code, report = run_cli(drift.command, target, tmp_path, *_only(drift.scope))
    finally:
        drift.revert(local_stack, saved)
    failing = {c["id"]: c["detail"] for c in report["checks"] if c["status"] == "FAIL"}
    assert code == 1, report["checks"]
    assert drift.caught_by in failing, f"{drift.id} not caught: {report['checks']}"
    code, report = run_cli(drift.command, local_stack, tmp_path, *_only(drift.scope))
    not_clean = statuses(report, "FAIL") | statuses(report, "ERROR")
    assert code == 0 and not not_clean, f"{drift.id} not reverted: {report['checks']}"
