"""The deployment contract: what a deployment of the log service must look like, as plain data.

Written once, used twice: ``tests/test_infra_contract.py`` proves that the Terraform in
``infra/`` declares exactly these values (its defaults), and ``slsops verify`` compares a live
deployment (AWS or the local stack) with them. Change a threshold here and in ``infra/`` together,
or the contract test fails.

Everything is frozen dataclasses and tuples so a check can import a value and never mutate it.
One module per part of the deployment: :mod:`.names` (resource names), :mod:`.table`,
:mod:`.kms`, :mod:`.functions` and :mod:`.environment`, :mod:`.api` (the routes, and which
roles may call each), :mod:`.client_roles`, :mod:`.alarms`, :mod:`.config_rules`,
:mod:`.local_gaps` (what the local stack cannot hold) and :mod:`.numbers` (objectives, waits and
ages). The package re-exports every public name, so a check reads ``contract.FUNCTIONS`` the
way it reads the contract: as one document.
"""

from __future__ import annotations

from slsops.contract.alarms import (
    ALARM_FUNCTION,
    ALARMS,
    MONITORING,
    AlarmContract,
    MonitoringContract,
)
from slsops.contract.api import (
    METHODS,
    ROUTE_CLIENT_ROLES,
    ROUTES,
    STAGE,
    MethodContract,
    StageContract,
    routes_for,
)
from slsops.contract.client_roles import (
    CLIENT_ROLES,
    DYNAMODB_PROBE_ACTIONS,
    ROLE_NAMES,
    TRUST,
    ClientRoleContract,
    TrustContract,
)
from slsops.contract.config_rules import CONFIG_RULES, ConfigRuleContract
from slsops.contract.environment import (
    DEFAULT_SERVICE_NAME,
    POWERTOOLS_LOG_LEVEL,
    POWERTOOLS_METRICS_NAMESPACE,
    POWERTOOLS_SERVICE_NAME,
    expected_environment,
)
from slsops.contract.functions import ENVIRONMENT_VARIABLES, FUNCTIONS, FunctionContract
from slsops.contract.kms import KMS, KmsContract
from slsops.contract.local_gaps import LOCAL_FEATURE_FLAGS, LOCAL_GAPS
from slsops.contract.names import (
    DEFAULT_ENVIRONMENT,
    DEFAULT_NAME_PREFIX,
    Names,
    alarm_names,
    names,
)
from slsops.contract.numbers import MAX_CLOCK_SKEW_SECONDS, RETENTION_DAYS
from slsops.contract.table import TABLE, TableContract

__all__ = [
    "ALARMS",
    "ALARM_FUNCTION",
    "CLIENT_ROLES",
    "CONFIG_RULES",
    "DEFAULT_ENVIRONMENT",
    "DEFAULT_NAME_PREFIX",
    "DEFAULT_SERVICE_NAME",
    "DYNAMODB_PROBE_ACTIONS",
    "ENVIRONMENT_VARIABLES",
    "FUNCTIONS",
    "KMS",
    "LOCAL_FEATURE_FLAGS",
    "LOCAL_GAPS",
    "MAX_CLOCK_SKEW_SECONDS",
    "METHODS",
    "MONITORING",
    "POWERTOOLS_LOG_LEVEL",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_SERVICE_NAME",
    "RETENTION_DAYS",
    "ROLE_NAMES",
    "ROUTES",
    "ROUTE_CLIENT_ROLES",
    "STAGE",
    "TABLE",
    "TRUST",
    "AlarmContract",
    "ClientRoleContract",
    "ConfigRuleContract",
    "FunctionContract",
    "KmsContract",
    "MethodContract",
    "MonitoringContract",
    "Names",
    "StageContract",
    "TableContract",
    "TrustContract",
    "alarm_names",
    "expected_environment",
    "names",
    "routes_for",
]
