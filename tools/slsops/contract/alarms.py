"""CloudWatch: the alarms, the topic they notify and the dashboard."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AlarmContract:
    """One CloudWatch alarm. Every alarm notifies the KMS-encrypted alarm topic.

    ``metrics``: the CloudWatch metric names it reads, in ``namespace``, with ``statistic``
    over ``period_s``. When ``expression`` is set the alarm is metric math over those metrics
    (ids are the metric names lower-cased, see ``infra/cloudwatch.tf``) and ``threshold`` applies
    to the expression. ``runbook``: the page under ``runbooks/`` its description links to.
    ``per_function``: one alarm per function in :data:`FUNCTIONS` (names ``<fn>-error-rate``).
    ``dimension_values``: extra metric dimension values summed by the expression (DynamoDB
    ``Operation``s that the service calls).
    """

    key: str
    name_middle: str
    namespace: str
    metrics: tuple[str, ...]
    statistic: str
    period_s: int
    evaluation_periods: int
    threshold: float
    comparison: str
    runbook: str
    expression: str | None = None
    treat_missing_data: str = "notBreaching"
    dimension_values: tuple[str, ...] = ()


def _lambda_error_rate_alarm(key: str, name_middle: str) -> AlarmContract:
    """Errors / Invocations above 5 % over 5 minutes, one alarm per function."""
    return AlarmContract(
        key=key,
        name_middle=name_middle,
        namespace="AWS/Lambda",
        metrics=("Errors", "Invocations"),
        statistic="Sum",
        period_s=300,
        evaluation_periods=1,
        threshold=5,
        comparison="GreaterThanThreshold",
        runbook="alarm-lambda-error-rate.md",
        expression="IF(invocations > 0, 100 * errors / invocations, 0)",
    )


ALARMS: dict[str, AlarmContract] = {
    "ingest_error_rate": _lambda_error_rate_alarm("ingest_error_rate", "ingest-error-rate"),
    "read_error_rate": _lambda_error_rate_alarm("read_error_rate", "read-recent-error-rate"),
    "dynamodb_throttles": AlarmContract(
        key="dynamodb_throttles",
        name_middle="dynamodb-throttles",
        namespace="AWS/DynamoDB",
        metrics=("ThrottledRequests",),
        statistic="Sum",
        period_s=60,
        evaluation_periods=1,
        threshold=10,
        comparison="GreaterThanThreshold",
        runbook="alarm-dynamodb-throttling.md",
        expression="SUM(METRICS())",
        dimension_values=("BatchWriteItem", "GetItem", "PutItem", "Query"),
    ),
    "api_5xx": AlarmContract(
        key="api_5xx",
        name_middle="api-5xx",
        namespace="AWS/ApiGateway",
        metrics=("5XXError",),
        statistic="Sum",
        period_s=300,
        evaluation_periods=1,
        threshold=10,
        comparison="GreaterThanThreshold",
        runbook="alarm-api-5xx.md",
    ),
}
"""Alarms by key. Lambda error rate is one alarm per function (an operator sees which one)."""

ALARM_FUNCTION = {"ingest_error_rate": "ingest", "read_error_rate": "read"}
"""Which function each per-function alarm watches (key in :data:`FUNCTIONS`)."""


@dataclass(frozen=True)
class MonitoringContract:
    """Alarm topic, dashboard and the log groups every deployment must have encrypted."""

    topic_kms_encrypted: bool = True
    alarms_notify_ok: bool = True  # ok_actions = the alarm topic, as alarm_actions
    log_groups_kms_encrypted: bool = True
    dashboard: bool = True


MONITORING = MonitoringContract()
