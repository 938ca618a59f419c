"""`terraform plan` against the local stack tells a clean deployment from a drifted one.

The plans run as the delivery pipeline's deploy role (the stack's provider override signs in
with its web identity; ``test_deployer_stack.py`` checks the override and bounds the role)."""

from __future__ import annotations

import pytest
from stack_breaks import aws

from slsops.infra_plan import plan_is_clean
from slsops.local.stack_file import workdir_for

pytestmark = [pytest.mark.stack, pytest.mark.terraform]


def test_plan_is_clean_then_shows_drift_then_clean_again(local_stack):
    tf_dir = workdir_for(local_stack.path) / "infra"
    clean, summary = plan_is_clean(tf_dir)
    assert clean, summary
    dynamodb = aws(local_stack, "dynamodb")  # the operator may not change the table
    table = local_stack["table_name"]
    dynamodb.update_continuous_backups(
        TableName=table,
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False},
    )
    try:
        clean, summary = plan_is_clean(tf_dir)
        assert not clean
        assert "aws_dynamodb_table" in summary, summary
    finally:
        dynamodb.update_continuous_backups(
            TableName=table,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )
    clean, summary = plan_is_clean(tf_dir)
    assert clean, summary
