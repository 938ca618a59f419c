"""What an API Gateway deployment froze: routes, methods, validators and models of a REST API.

API Gateway serves a stage from the deployment it points at, so a method changed after that
deployment has no effect until the next one. moto keeps no such snapshot (a deployment is just
an id), so the local stack takes one when moto handles CreateDeployment (see
``slsops.local.gaps.apigw_deployment_snapshot``) and the emulator serves a stage from the
snapshot of the stage's ``deploymentId``. Snapshots are plain data: later edits in moto do not
reach them.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class MethodSnapshot:
    """One method of one resource, as deployed."""

    http_method: str
    authorization_type: str
    request_parameters: dict[str, bool]
    request_models: dict[str, str]
    request_validator_id: str | None
    integration_type: str | None
    integration_uri: str | None


@dataclass(frozen=True)
class ResourceSnapshot:
    """A resource: its full path (``/logs/recent``, ``/items/{id}``) and its methods."""

    resource_id: str
    path: str
    methods: dict[str, MethodSnapshot]


@dataclass(frozen=True)
class ValidatorSnapshot:
    validator_id: str
    validate_body: bool
    validate_parameters: bool


@dataclass(frozen=True)
class DeploymentSnapshot:
    """Everything the emulator needs to route and validate requests for one deployment."""

    account_id: str
    region: str
    api_id: str
    deployment_id: str
    resources: tuple[ResourceSnapshot, ...]
    validators: dict[str, ValidatorSnapshot]
    model_schemas: dict[str, Any] = field(default_factory=dict)


_LOCK = threading.Lock()
_SNAPSHOTS: dict[tuple[str, str], DeploymentSnapshot] = {}


def _as_bool(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _parse_schema(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return None
    return raw


def _method_snapshot(http_method: str, method: Any) -> MethodSnapshot:
    integration = method.method_integration
    return MethodSnapshot(
        http_method=http_method,
        authorization_type=str(method.authorization_type or "NONE").upper(),
        request_parameters={k: _as_bool(v) for k, v in (method.request_parameters or {}).items()},
        request_models=dict(method.request_models or {}),
        request_validator_id=method.request_validator_id or None,
        integration_type=integration.integration_type if integration else None,
        integration_uri=integration.uri if integration else None,
    )


def take_snapshot(rest_api: Any, deployment_id: str) -> DeploymentSnapshot:
    """Copy the current configuration of moto's ``RestAPI`` into a snapshot."""
    resources = tuple(
        ResourceSnapshot(
            resource_id=resource.id,
            path=resource.get_path(),
            methods={
                verb: _method_snapshot(verb, method)
                for verb, method in dict(resource.resource_methods).items()
            },
        )
        for resource in list(rest_api.resources.values())
    )
    validators = {
        vid: ValidatorSnapshot(
            validator_id=vid,
            validate_body=_as_bool(v.validate_request_body),
            validate_parameters=_as_bool(v.validate_request_parameters),
        )
        for vid, v in dict(rest_api.request_validators).items()
    }
    schemas = {model.name: _parse_schema(model.schema) for model in list(rest_api.models.values())}
    return DeploymentSnapshot(
        account_id=rest_api.account_id,
        region=rest_api.region_name,
        api_id=rest_api.id,
        deployment_id=deployment_id,
        resources=resources,
        validators=validators,
        model_schemas=schemas,
    )


def find_rest_api(api_id: str) -> Any | None:
    """The moto ``RestAPI`` with this id in any account and region that exists in process."""
    from moto.apigateway.models import apigateway_backends

    for account_backends in list(dict.values(apigateway_backends)):
        for backend in list(dict.values(account_backends)):
            api = backend.apis.get(api_id)
            if api is not None:
                return api
    return None


def record(api_id: str, deployment_id: str) -> DeploymentSnapshot | None:
    """Snapshot the API now under ``deployment_id`` (called right after CreateDeployment)."""
    api = find_rest_api(api_id)
    if api is None:
        return None
    snapshot = take_snapshot(api, deployment_id)
    with _LOCK:
        _SNAPSHOTS[(api_id, deployment_id)] = snapshot
    return snapshot


def get(api_id: str, deployment_id: str) -> DeploymentSnapshot | None:
    with _LOCK:
        return _SNAPSHOTS.get((api_id, deployment_id))


def clear() -> None:
    """Forget every snapshot (tests)."""
    with _LOCK:
        _SNAPSHOTS.clear()
