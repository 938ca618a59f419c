"""The deployment contract: what a deployment of the log service must look like, as plain data.

Written once, used twice: ``tests/test_infra_contract.py`` proves that the Terraform in
``infra/`` declares exactly these values (its defaults), and ``slsops verify`` compares a live
deployment (AWS or the local stack) with them. Change a threshold here and in ``infra/`` together,
or the contract test fails.

Everything is frozen dataclasses and tuples so a check can import a value and never mutate it.
Names of deployed resources depend on two Terraform variables (``name_prefix`` and
``environment``); :func:`names` renders them the way ``infra/`` does.
"""

from __future__ import annotations

from dataclasses import dataclass

from log_service import keys, limits

DEFAULT_NAME_PREFIX = "simple-log-service"
DEFAULT_ENVIRONMENT = "prod"


# --------------------------------------------------------------------------------------------
# Resource names
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Names:
    """Every deployed resource name, rendered for one ``name_prefix`` and ``environment``."""

    prefix: str
    environment: str

    def _name(self, middle: str) -> str:
        return f"{self.prefix}-{middle}-{self.environment}"

    @property
    def table(self) -> str:
        return self._name("logs")

    @property
    def api(self) -> str:
        """Name of the REST API (also the ``ApiName`` dimension of its metrics)."""
        return f"{self.prefix}-{self.environment}"

    @property
    def kms_alias(self) -> str:
        return f"alias/{self.prefix}-{self.environment}"

    @property
    def alarm_topic(self) -> str:
        return self._name("alarms")

    @property
    def dashboard(self) -> str:
        return f"{self.prefix}-{self.environment}"

    @property
    def api_access_log_group(self) -> str:
        return f"/aws/apigateway/{self.prefix}-{self.environment}"

    def function(self, key: str) -> str:
        """Function name for ``key`` in :data:`FUNCTIONS` (``ingest`` or ``read``)."""
        return self._name(FUNCTIONS[key].name_middle)

    def function_log_group(self, key: str) -> str:
        return f"/aws/lambda/{self.function(key)}"

    def execution_role(self, key: str) -> str:
        return self._name(f"{FUNCTIONS[key].name_middle}-exec")

    def client_role(self, key: str) -> str:
        """Client role name for ``key`` in :data:`CLIENT_ROLES` (``ingest``, ``read``, ``full``)."""
        return self._name(CLIENT_ROLES[key].name_middle)

    def alarm(self, key: str) -> str:
        """Alarm name for ``key`` in :data:`ALARMS`."""
        return self._name(ALARMS[key].name_middle)

    def config_rule(self, key: str) -> str:
        return self._name(CONFIG_RULES[key].name_middle)

    @property
    def github_deploy_role(self) -> str:
        return self._name("github-deploy")


def names(prefix: str = DEFAULT_NAME_PREFIX, environment: str = DEFAULT_ENVIRONMENT) -> Names:
    """The resource names of one deployment (defaults: the production names)."""
    return Names(prefix=prefix, environment=environment)


# --------------------------------------------------------------------------------------------
# DynamoDB
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TableContract:
    """The log table. Key names come from ``log_service.keys`` (the one key scheme).

    ``*_type`` are DynamoDB attribute types (S, N). ``index_*`` describe the all-services GSI.
    ``sse_kms_cmk``: server-side encryption with the project's customer-managed KMS key (not the
    AWS-owned or AWS-managed key). ``contributor_insights``: enabled on AWS; the local stack
    cannot hold it (moto lacks the API), so it is a Terraform variable.
    """

    partition_key: str = keys.PARTITION_KEY
    partition_key_type: str = "S"
    sort_key: str = keys.SORT_KEY
    sort_key_type: str = "S"
    index_name: str = keys.DEFAULT_INDEX_NAME
    index_partition_key: str = keys.INDEX_PARTITION_KEY
    index_partition_key_type: str = "N"
    index_sort_key: str = keys.INDEX_SORT_KEY
    index_projection: str = "ALL"
    billing_mode: str = "PAY_PER_REQUEST"
    ttl_attribute: str = keys.TTL_ATTRIBUTE
    sse_kms_cmk: bool = True
    point_in_time_recovery: bool = True
    deletion_protection: bool = True
    contributor_insights: bool = True
    shard_count: int = keys.DEFAULT_SHARD_COUNT


TABLE = TableContract()


# --------------------------------------------------------------------------------------------
# KMS
# --------------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------------
# Lambda
# --------------------------------------------------------------------------------------------
ENVIRONMENT_VARIABLES = (
    "DYNAMODB_TABLE_NAME",
    "INDEX_NAME",
    "SHARD_COUNT",
    "RETENTION_DAYS",
    "MAX_CLOCK_SKEW_SECONDS",
    "DEFAULT_SERVICE_NAME",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_LOG_LEVEL",
)
"""Names of the Lambda environment variables (both functions carry the same set)."""

POWERTOOLS_SERVICE_NAME = DEFAULT_NAME_PREFIX
POWERTOOLS_METRICS_NAMESPACE = "SimpleLogService"
POWERTOOLS_LOG_LEVEL = "INFO"
RETENTION_DAYS = limits.DEFAULT_RETENTION_DAYS
MAX_CLOCK_SKEW_SECONDS = limits.DEFAULT_MAX_CLOCK_SKEW_SECONDS
DEFAULT_SERVICE_NAME = limits.DEFAULT_SERVICE_NAME


@dataclass(frozen=True)
class FunctionContract:
    """One Lambda function and its execution role.

    ``name_middle``: the function is named ``<prefix>-<name_middle>-<environment>``.
    ``alias``: API Gateway invokes this alias; a rollback moves it to an older published version.
    ``dynamodb_actions``: exactly the DynamoDB actions its execution role grants (what the code
    uses); ``dynamodb_on_index``: whether they also apply to the all-services index.
    ``kms_actions``: what its role may do with the CMK (only through DynamoDB or Lambda).
    ``log_retention_days``: its ``/aws/lambda/<name>`` log group, KMS-encrypted.
    """

    key: str
    name_middle: str
    handler: str
    dynamodb_actions: tuple[str, ...]
    dynamodb_on_index: bool
    runtime: str = "python3.12"
    architecture: str = "x86_64"
    memory_mb: int = 256
    timeout_s: int = 30
    reserved_concurrency: int = 100
    tracing_mode: str = "Active"
    alias: str = "live"
    environment_variables: tuple[str, ...] = ENVIRONMENT_VARIABLES
    environment_encrypted_with_cmk: bool = True
    log_retention_days: int = 7
    kms_actions: tuple[str, ...] = ("kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey")


FUNCTIONS: dict[str, FunctionContract] = {
    "ingest": FunctionContract(
        key="ingest",
        name_middle="ingest",
        handler="log_service.ingest_handler.handler",
        # Two conditional PutItems (marker, then entry); a replay reads the marker (GetItem).
        dynamodb_actions=("dynamodb:GetItem", "dynamodb:PutItem"),
        dynamodb_on_index=False,
    ),
    "read": FunctionContract(
        key="read",
        name_middle="read-recent",
        handler="log_service.read_handler.handler",
        dynamodb_actions=("dynamodb:Query",),
        dynamodb_on_index=True,
    ),
}


def expected_environment(
    n: Names,
    *,
    shard_count: int = TABLE.shard_count,
    retention_days: int = RETENTION_DAYS,
    max_clock_skew_seconds: int = MAX_CLOCK_SKEW_SECONDS,
) -> dict[str, str]:
    """The environment both functions must carry (values as Lambda stores them: strings)."""
    return {
        "DYNAMODB_TABLE_NAME": n.table,
        "INDEX_NAME": TABLE.index_name,
        "SHARD_COUNT": str(shard_count),
        "RETENTION_DAYS": str(retention_days),
        "MAX_CLOCK_SKEW_SECONDS": str(max_clock_skew_seconds),
        "DEFAULT_SERVICE_NAME": DEFAULT_SERVICE_NAME,
        "POWERTOOLS_SERVICE_NAME": POWERTOOLS_SERVICE_NAME,
        "POWERTOOLS_METRICS_NAMESPACE": POWERTOOLS_METRICS_NAMESPACE,
        "POWERTOOLS_LOG_LEVEL": POWERTOOLS_LOG_LEVEL,
    }


# --------------------------------------------------------------------------------------------
# API Gateway
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MethodContract:
    """One API method. ``function``: key in :data:`FUNCTIONS` behind it (Lambda proxy, alias).

    ``validates_body`` / ``validates_parameters``: what its request validator checks (the POST
    body against the model built from ``service/openapi.json``; the GET query parameters, all
    declared optional in ``query_parameters``).
    """

    http_method: str
    path: str
    function: str
    authorization: str = "AWS_IAM"
    integration_type: str = "AWS_PROXY"
    validates_body: bool = False
    validates_parameters: bool = False
    query_parameters: tuple[str, ...] = ()


METHODS: tuple[MethodContract, ...] = (
    MethodContract("POST", "/logs", function="ingest", validates_body=True),
    MethodContract(
        "GET",
        "/logs/recent",
        function="read",
        validates_parameters=True,
        query_parameters=("service_name", "level", "since", "until", "limit", "next_token"),
    ),
)


@dataclass(frozen=True)
class StageContract:
    """The stage (named after the environment): method throttling, tracing, access logs.

    ``throttling_*`` apply to every method (``*/*`` method settings).
    """

    endpoint_type: str = "REGIONAL"
    throttling_rate_limit: float = 10000
    throttling_burst_limit: int = 5000
    xray_tracing: bool = True
    access_log_retention_days: int = 7
    metrics_enabled: bool = True


STAGE = StageContract()


# --------------------------------------------------------------------------------------------
# Client roles
# --------------------------------------------------------------------------------------------
DYNAMODB_PROBE_ACTIONS = (
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:DeleteItem",
    "dynamodb:UpdateTable",
    "dynamodb:DeleteTable",
)
"""The DynamoDB actions ``slsops roles``/``verify`` probe on each client role (allow or deny)."""


@dataclass(frozen=True)
class TrustContract:
    """What every client role's trust policy must say.

    Only ``sts:AssumeRole`` for the configured principal ARNs (IAM users or roles, never ``*``,
    never a service such as ``lambda.amazonaws.com``), with the condition
    ``StringEquals sts:ExternalId = <the role's external id>``.
    """

    action: str = "sts:AssumeRole"
    external_id_condition_operator: str = "StringEquals"
    external_id_condition_key: str = "sts:ExternalId"
    forbidden_principals: tuple[str, ...] = ("*", "lambda.amazonaws.com")
    external_id_min_length: int = 16
    max_session_duration_s: int = 3600


TRUST = TrustContract()


@dataclass(frozen=True)
class ClientRoleContract:
    """One client role (the principals trusted to assume it are a Terraform variable).

    ``api_methods``: ``(HTTP method, path)`` pairs its ``execute-api:Invoke`` policy allows, on
    this API and stage only. ``dynamodb_actions``: direct table access (on the table and its
    index); everything in :data:`DYNAMODB_PROBE_ACTIONS` not listed here must be denied.
    """

    key: str
    name_middle: str
    api_methods: tuple[tuple[str, str], ...]
    dynamodb_actions: tuple[str, ...] = ()

    def allows_dynamodb(self, action: str) -> bool:
        """Whether the contract expects ``action`` to be allowed for this role."""
        return action in self.dynamodb_actions

    def allows_api(self, http_method: str, path: str) -> bool:
        return (http_method.upper(), path) in self.api_methods


CLIENT_ROLES: dict[str, ClientRoleContract] = {
    "ingest": ClientRoleContract("ingest", "ingest", api_methods=(("POST", "/logs"),)),
    "read": ClientRoleContract("read", "read", api_methods=(("GET", "/logs/recent"),)),
    "full": ClientRoleContract(
        "full",
        "full-access",
        api_methods=(("POST", "/logs"), ("GET", "/logs/recent")),
        dynamodb_actions=("dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"),
    ),
}


# --------------------------------------------------------------------------------------------
# CloudWatch alarms, topic, dashboard
# --------------------------------------------------------------------------------------------
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
        dimension_values=("GetItem", "PutItem", "Query"),
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
    log_groups_kms_encrypted: bool = True
    dashboard: bool = True


MONITORING = MonitoringContract()


# --------------------------------------------------------------------------------------------
# AWS Config
# --------------------------------------------------------------------------------------------
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


def alarm_names(n: Names) -> tuple[str, ...]:
    """All alarm names of a deployment, in :data:`ALARMS` order (the ``alarm_names`` output)."""
    return tuple(n.alarm(key) for key in ALARMS)


# --------------------------------------------------------------------------------------------
# What the local stack cannot hold
# --------------------------------------------------------------------------------------------
LOCAL_GAPS: dict[str, str] = {
    "DDB-008": (
        "DynamoDB contributor insights: moto has no contributor-insights API, so the local "
        "apply turns enable_contributor_insights off"
    ),
    "CFG-002": (
        "AWS Config recorder and delivery channel: moto's Config rules work without one, and "
        "the local apply turns enable_config_recorder off (one recorder per account and region)"
    ),
}
"""Check id -> why the local stack cannot hold what it reads. A check registered with
``runs_on="aws"`` must have an entry; on a local target the runner reports it SKIP with this
reason (the only SKIP a deployment's kind may cause)."""
