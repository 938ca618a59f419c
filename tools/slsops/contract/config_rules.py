"""The AWS-managed Config rules a deployment enables (``enable_config_rules``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConfigRuleContract:
    """One AWS-managed Config rule (``source_identifier``), enabled by ``enable_config_rules``."""

    key: str
    name_middle: str
    source_identifier: str


CONFIG_RULES: dict[str, ConfigRuleContract] = {
    "dynamodb_pitr": ConfigRuleContract("dynamodb_pitr", "dynamodb-pitr", "DYNAMODB_PITR_ENABLED"),
    "dynamodb_kms": ConfigRuleContract(
        "dynamodb_kms", "dynamodb-kms", "DYNAMODB_TABLE_ENCRYPTED_KMS"
    ),
    "lambda_concurrency": ConfigRuleContract(
        "lambda_concurrency", "lambda-concurrency", "LAMBDA_CONCURRENCY_CHECK"
    ),
    "log_group_encrypted": ConfigRuleContract(
        "log_group_encrypted", "log-group-encrypted", "CLOUDWATCH_LOG_GROUP_ENCRYPTED"
    ),
}
