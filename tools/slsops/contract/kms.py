"""The customer-managed KMS key that encrypts the table, the log groups and the alarm topic."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KmsContract:
    """The customer-managed key: symmetric, rotated yearly, one alias (see :meth:`Names.kms_alias`).

    ``service_principals``: the AWS services the key policy admits directly (CloudWatch Logs for
    encrypted log groups, CloudWatch alarms publishing to the encrypted SNS topic). DynamoDB use
    is admitted for named roles only, through ``kms:ViaService``.
    """

    key_spec: str = "SYMMETRIC_DEFAULT"
    key_usage: str = "ENCRYPT_DECRYPT"
    rotation_enabled: bool = True
    deletion_window_days: int = 30
    service_principals: tuple[str, ...] = (
        "logs.{region}.amazonaws.com",
        "cloudwatch.amazonaws.com",
    )


KMS = KmsContract()
