"""CFG-*: the AWS Config rules and the recorder they need (``slsops verify``).

Whether these apply is the contract's decision, never the deployment's own
``config_rules_enabled`` output: a deployment that turned its rules off FAILs here. The local
stack holds the rules but no recorder (``contract.LOCAL_GAPS``), so CFG-002 runs on AWS only.
"""

from __future__ import annotations

from slsops import contract
from slsops.deployment.verify_context import StackContext
from slsops.framework.compare import compared, problems_outcome
from slsops.framework.model import Check, Outcome, Severity, check

CHECKS: list[Check] = []
DOC = "runbooks/deployment-verification-failed.md"


@check(
    CHECKS,
    "CFG-001",
    "Config rules exist, active, with the contract's managed rule",
    Severity.MEDIUM,
    "Apply infra/config.tf with enable_config_rules = true.",
    reads="config:DescribeConfigRules (one call per contract rule name)",
    runs_on="both",
    doc=DOC,
)
def rules(ctx: StackContext) -> Outcome:
    wanted = {ctx.names.config_rule(key): spec for key, spec in contract.CONFIG_RULES.items()}
    client = ctx.client("config")

    def fetch() -> dict[str, dict]:
        found: dict[str, dict] = {}
        for name in wanted:  # one call per rule: a missing name fails the whole batch call
            try:
                answer = client.describe_config_rules(ConfigRuleNames=[name])
            except client.exceptions.NoSuchConfigRuleException:
                continue
            found.update({r["ConfigRuleName"]: r for r in answer.get("ConfigRules", [])})
        return found

    found = ctx.cached(("config", "rules"), fetch)
    expected, actual = {}, {}
    for name, spec in wanted.items():
        rule = found.get(name) or {}
        source = rule.get("Source") or {}
        expected[name] = {"owner": "AWS", "identifier": spec.source_identifier, "state": "ACTIVE"}
        actual[name] = (
            {
                "owner": source.get("Owner"),
                "identifier": source.get("SourceIdentifier"),
                "state": rule.get("ConfigRuleState"),
            }
            if rule
            else None
        )
    return compared(expected, actual, f"{len(wanted)} Config rules are active")


@check(
    CHECKS,
    "CFG-002",
    "A Config recorder is recording (rules evaluate nothing without one)",
    Severity.MEDIUM,
    "aws configservice start-configuration-recorder --configuration-recorder-name <name>",
    reads="config:DescribeConfigurationRecorderStatus",
    runs_on="aws",
    doc=DOC,
)
def recorder(ctx: StackContext) -> Outcome:
    answer = ctx.call("config", "describe_configuration_recorder_status")
    statuses = answer.get("ConfigurationRecordersStatus", [])
    recording = [s["name"] for s in statuses if s.get("recording")]
    return problems_outcome(
        [] if recording else ["no configuration recorder is recording"],
        f"recording: {', '.join(recording)}",
        recorders=[{"name": s.get("name"), "recording": s.get("recording")} for s in statuses],
    )
