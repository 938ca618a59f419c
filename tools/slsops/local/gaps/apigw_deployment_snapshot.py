"""Gap: moto's API Gateway keeps no per-deployment snapshot; take one at CreateDeployment.

On AWS a stage serves the methods as they were when its deployment was created. This
middleware lets moto handle ``POST /restapis/{api}/deployments`` and, when that succeeded,
records the API's routes, methods and validators under the new deployment id
(``slsops.local.deployment_snapshot``), which the API Gateway emulator serves from.

It also answers what moto leaves out of ``GetDeployment`` with ``embed=apisummary``: the
``apiSummary`` of the deployment (path -> method -> authorizationType, apiKeyRequired), built
from the same snapshot, so a check can see what a stage really serves.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from slsops.local import deployment_snapshot, wsgi_capture

_CREATE_DEPLOYMENT = re.compile(r"^/restapis/(?P<api>[^/]+)/deployments/?$")
_GET_DEPLOYMENT = re.compile(r"^/restapis/(?P<api>[^/]+)/deployments/(?P<deployment>[^/]+)/?$")


def api_summary(snapshot: deployment_snapshot.DeploymentSnapshot) -> dict[str, Any]:
    return {
        resource.path: {
            verb: {
                "authorizationType": method.authorization_type,
                "apiKeyRequired": False,
                "authorizationScopes": [],
            }
            for verb, method in resource.methods.items()
        }
        for resource in snapshot.resources
        if resource.methods
    }


def _with_summary(match: re.Match[str], body: bytes) -> bytes:
    snapshot = deployment_snapshot.get(match.group("api"), match.group("deployment"))
    if snapshot is None:
        return body
    try:
        document = json.loads(body or b"{}")
    except ValueError:
        return body
    document["apiSummary"] = api_summary(snapshot)
    return json.dumps(document).encode()


def wrap(app: Any) -> Any:
    def middleware(environ: dict[str, Any], start_response: Any) -> Any:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD")
        create = _CREATE_DEPLOYMENT.match(path) if method == "POST" else None
        read = _GET_DEPLOYMENT.match(path) if method == "GET" else None
        embeds = {v.lower() for k, v in parse_qsl(environ.get("QUERY_STRING", "")) if k == "embed"}
        if create is None and (read is None or "apisummary" not in embeds):
            return app(environ, start_response)
        status, headers, body = wsgi_capture.call(app, environ)
        if status.startswith("2") and create is not None:
            try:
                deployment_id = json.loads(body or b"{}").get("id")
            except ValueError:
                deployment_id = None
            if deployment_id:
                deployment_snapshot.record(create.group("api"), deployment_id)
        if status.startswith("2") and read is not None:
            body = _with_summary(read, body)
        return wsgi_capture.respond(start_response, status, headers, body)

    return middleware
