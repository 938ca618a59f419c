"""Resource names: every deployed name, rendered the way ``infra/`` renders it.

Names depend on two Terraform variables (``name_prefix`` and ``environment``); the defaults are
the production names.
"""

from __future__ import annotations

from dataclasses import dataclass

from slsops.contract.alarms import ALARMS
from slsops.contract.client_roles import CLIENT_ROLES
from slsops.contract.config_rules import CONFIG_RULES
from slsops.contract.functions import FUNCTIONS

DEFAULT_NAME_PREFIX = "simple-log-service"
DEFAULT_ENVIRONMENT = "prod"


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


def alarm_names(n: Names) -> tuple[str, ...]:
    """All alarm names of a deployment, in :data:`ALARMS` order (the ``alarm_names`` output)."""
    return tuple(n.alarm(key) for key in ALARMS)
