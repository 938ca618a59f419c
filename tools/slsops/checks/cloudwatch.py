"""CW-*: the alarms, their thresholds and actions, the alarm topic, the dashboard and the
project's log groups' subscriptions (verify)."""

from __future__ import annotations

import json
from typing import Any

from slsops import contract
from slsops.checks.function_versions import function_log_group
from slsops.deployment.verify_context import StackContext
from slsops.framework.compare import compared, problems_outcome
from slsops.framework.model import Check, Outcome, Severity, check, skipped
from slsops.iam.documents import principals_beyond_account

CHECKS: list[Check] = []
DOC = "runbooks/deployment-verification-failed.md"


def _expected_alarms(ctx: StackContext) -> dict[str, contract.AlarmContract]:
    """Alarm name -> its contract, for this deployment's names."""
    return {ctx.names.alarm(key): spec for key, spec in contract.ALARMS.items()}


def _alarms(ctx: StackContext) -> dict[str, dict[str, Any]]:
    """The deployment's alarms by name (those the contract and the ``alarm_names`` output name)."""
    names = sorted(set(_expected_alarms(ctx)) | set(ctx.stack.get("alarm_names") or []))

    def fetch() -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        client = ctx.client("cloudwatch")
        for start in range(0, len(names), 100):  # DescribeAlarms takes up to 100 names
            pages = client.get_paginator("describe_alarms").paginate(
                AlarmNames=names[start : start + 100], AlarmTypes=["MetricAlarm"]
            )
            for page in pages:
                found.update({a["AlarmName"]: a for a in page.get("MetricAlarms", [])})
        return found

    return ctx.cached(("cloudwatch", "alarms", tuple(names)), fetch)


def _period(alarm: dict[str, Any]) -> int | None:
    if alarm.get("Period"):
        return alarm["Period"]
    periods = {m["MetricStat"]["Period"] for m in alarm.get("Metrics", []) if m.get("MetricStat")}
    return periods.pop() if len(periods) == 1 else None


def _expression(alarm: dict[str, Any]) -> str | None:
    returned = [m for m in alarm.get("Metrics", []) if m.get("ReturnData")]
    return returned[0].get("Expression") if returned else None


def _metric_names(alarm: dict[str, Any]) -> list[str]:
    if alarm.get("MetricName"):
        return [alarm["MetricName"]]
    return sorted(
        {
            m["MetricStat"]["Metric"]["MetricName"]
            for m in alarm.get("Metrics", [])
            if m.get("MetricStat")
        }
    )


@check(
    CHECKS,
    "CW-001",
    "Every alarm of the contract exists",
    Severity.HIGH,
    "Apply infra/cloudwatch.tf (terraform apply) to recreate the missing alarms.",
    reads="cloudwatch:DescribeAlarms of the contract's alarm names and the alarm_names output",
    runs_on="both",
    doc=DOC,
)
def alarms_exist(ctx: StackContext) -> Outcome:
    found = _alarms(ctx)
    wanted = sorted(_expected_alarms(ctx))
    missing = [name for name in wanted if name not in found]
    not_in_output = [n for n in wanted if n not in (ctx.stack.get("alarm_names") or [])]
    problems = [f"alarm {name} does not exist" for name in missing]
    problems += [f"alarm {name} missing from the alarm_names output" for name in not_in_output]
    return problems_outcome(
        problems,
        f"{len(wanted)} alarms exist",
        alarms={n: (found[n].get("StateValue") if n in found else None) for n in wanted},
    )


@check(
    CHECKS,
    "CW-002",
    "Alarms' metrics, thresholds, periods and comparison",
    Severity.HIGH,
    "Restore the alarm's definition from infra/cloudwatch.tf (terraform apply).",
    reads="cloudwatch:DescribeAlarms (threshold, comparison, periods, metrics, expression)",
    runs_on="both",
    doc=DOC,
)
def alarm_thresholds(ctx: StackContext) -> Outcome:
    found = _alarms(ctx)
    expected: dict[str, Any] = {}
    actual: dict[str, Any] = {}
    for name, spec in _expected_alarms(ctx).items():
        alarm = found.get(name)
        if alarm is None:
            continue  # CW-001 reports a missing alarm
        expected.update(
            {
                f"{name}.threshold": float(spec.threshold),
                f"{name}.comparison": spec.comparison,
                f"{name}.evaluation_periods": spec.evaluation_periods,
                f"{name}.period_s": spec.period_s,
                f"{name}.metrics": sorted(spec.metrics),
                f"{name}.expression": spec.expression,
                f"{name}.treat_missing_data": spec.treat_missing_data,
            }
        )
        actual.update(
            {
                f"{name}.threshold": float(alarm.get("Threshold", "nan")),
                f"{name}.comparison": alarm.get("ComparisonOperator"),
                f"{name}.evaluation_periods": alarm.get("EvaluationPeriods"),
                f"{name}.period_s": _period(alarm),
                f"{name}.metrics": _metric_names(alarm),
                f"{name}.expression": _expression(alarm),
                f"{name}.treat_missing_data": alarm.get("TreatMissingData"),
            }
        )
    if not expected:
        return skipped(
            "none of the contract's alarms exists, so no definition was compared "
            "(CW-001 reports the missing alarms)"
        )
    compared_alarms = sorted({field.rsplit(".", 1)[0] for field in expected})
    return compared(
        expected,
        actual,
        f"{len(compared_alarms)} alarms match the contract",
        compared_alarms=compared_alarms,
    )


@check(
    CHECKS,
    "CW-003",
    "Alarms notify the alarm topic (encrypted), which notifies e-mail only",
    Severity.HIGH,
    "Set alarm_actions (and ok_actions) to the alarm topic in infra/cloudwatch.tf; apply. A "
    "subscription infra/ does not make: aws sns unsubscribe --subscription-arn <arn>.",
    reads="cloudwatch:DescribeAlarms (AlarmActions, OKActions, ActionsEnabled), "
    "sns:GetTopicAttributes (KmsMasterKeyId, Policy), sns:ListSubscriptionsByTopic",
    runs_on="both",
    doc=DOC,
)
def alarm_actions(ctx: StackContext) -> Outcome:
    topic = str(ctx.stack["alarm_topic_arn"])
    try:
        attributes = ctx.call("sns", "get_topic_attributes", TopicArn=topic)["Attributes"]
    except ctx.client("sns").exceptions.NotFoundException:
        return problems_outcome([f"topic {topic} does not exist"], "")
    problems: list[str] = []
    policy = json.loads(attributes.get("Policy") or "{}")
    account = str(ctx.stack.get("account_id") or "")
    problems += [
        f"topic policy statement {w} is admitted, beyond this account"
        for w in principals_beyond_account(policy, account)
    ]
    if contract.MONITORING.topic_kms_encrypted and not attributes.get("KmsMasterKeyId"):
        problems.append(f"topic {topic} is not KMS-encrypted")
    if topic.rsplit(":", 1)[-1] != ctx.names.alarm_topic:
        problems.append(f"topic {topic} is not named {ctx.names.alarm_topic}")
    problems += _foreign_subscriptions(ctx, topic)
    actions: dict[str, list[str]] = {}
    for name, alarm in _alarms(ctx).items():
        actions[name] = alarm.get("AlarmActions", [])
        if topic not in actions[name]:
            problems.append(f"alarm {name} does not notify {topic}")
        if contract.MONITORING.alarms_notify_ok and topic not in alarm.get("OKActions", []):
            problems.append(f"alarm {name} does not notify {topic} when it recovers (OKActions)")
        if alarm.get("ActionsEnabled") is False:
            problems.append(f"alarm {name} has its actions disabled")
    return problems_outcome(
        problems,
        f"every alarm notifies {topic}",
        alarm_actions=actions,
        topic_kms_key=attributes.get("KmsMasterKeyId"),
    )


# What infra/ subscribes to the alarm topic: the on-call e-mail (variable alarm_email), if any.
SUBSCRIPTION_PROTOCOLS = frozenset({"email", "email-json"})


def _foreign_subscriptions(ctx: StackContext, topic: str) -> list[str]:
    """Subscriptions infra/ does not make: another protocol (an HTTPS endpoint, a function or a
    queue, perhaps another account's) receives every alarm, where only an e-mail is subscribed."""
    pages = ctx.client("sns").get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic)
    return [
        f"topic {topic} also notifies {s.get('Protocol')} {s.get('Endpoint')}"
        for page in pages
        for s in page.get("Subscriptions", [])
        if s.get("Protocol") not in SUBSCRIPTION_PROTOCOLS
    ]


@check(
    CHECKS,
    "CW-004",
    "Dashboard exists and shows the functions, the table and the API",
    Severity.LOW,
    "Apply infra/cloudwatch.tf to recreate the dashboard.",
    reads="cloudwatch:GetDashboard (DashboardBody)",
    runs_on="both",
    doc=DOC,
)
def dashboard(ctx: StackContext) -> Outcome:
    name = str(ctx.stack["dashboard_name"])
    try:
        answer = ctx.call("cloudwatch", "get_dashboard", DashboardName=name)
    except ctx.client("cloudwatch").exceptions.ResourceNotFound:
        return problems_outcome([f"dashboard {name} does not exist"], "")
    body = json.loads(answer.get("DashboardBody") or "{}")
    text = json.dumps(body)
    wanted = [
        str(ctx.stack["ingest_function_name"]),
        str(ctx.stack["read_function_name"]),
        str(ctx.stack["table_name"]),
        ctx.names.api,
    ]
    problems = [f"dashboard {name} does not show {w}" for w in wanted if w not in text]
    if name != ctx.names.dashboard:
        problems.append(f"dashboard is named {name}, not {ctx.names.dashboard}")
    return problems_outcome(
        problems,
        f"dashboard {name} has {len(body.get('widgets', []))} widgets",
        widgets=len(body.get("widgets", [])),
    )


def _log_groups(ctx: StackContext) -> list[str]:
    """The project's log groups: each function's and the API's access log group."""
    functions = [function_log_group(ctx, key) for key in contract.FUNCTIONS]
    return [*functions, ctx.names.api_access_log_group]


@check(
    CHECKS,
    "CW-005",
    "No subscription filter copies the project's logs elsewhere",
    Severity.MEDIUM,
    "Delete the filter (aws logs delete-subscription-filter --log-group-name <group> "
    "--filter-name <name>); the project subscribes nothing to its log groups.",
    reads="logs:DescribeSubscriptionFilters of each function's log group and the API's",
    runs_on="both",
    doc=DOC,
)
def no_log_subscriptions(ctx: StackContext) -> Outcome:
    """A subscription filter streams every log event of its group to a destination (a Lambda
    function, a Kinesis or Firehose stream, another account's): the functions' logs and the
    access logs would leave the project's log groups, their retention and their key."""
    problems, read = [], []
    for group in _log_groups(ctx):
        try:
            answer = ctx.call("logs", "describe_subscription_filters", logGroupName=group)
        except ctx.client("logs").exceptions.ResourceNotFoundException:
            continue  # a missing group is FN-006's and API-006's finding
        read.append(group)
        problems += [
            f"{group}: filter {f.get('filterName')} sends its events to {f.get('destinationArn')}"
            for f in answer.get("subscriptionFilters", [])
        ]
    if not read:
        return skipped("none of the project's log groups exists: nothing to compare")
    return problems_outcome(
        problems, f"no subscription filter on {len(read)} log groups", log_groups=read
    )
