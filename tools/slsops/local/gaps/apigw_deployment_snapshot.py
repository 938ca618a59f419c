"""Gap: moto's API Gateway keeps no per-deployment snapshot; take one at CreateDeployment.

On AWS a stage serves the methods as they were when its deployment was created. This
middleware lets moto handle ``POST /restapis/{api}/deployments`` and, when that succeeded,
records the API's routes, methods and validators under the new deployment id
(``slsops.local.deployment_snapshot``), which the API Gateway emulator serves from.
"""

from __future__ import annotations

import json
import re
from typing import Any

from slsops.local import deployment_snapshot

_CREATE_DEPLOYMENT = re.compile(r"^/restapis/(?P<api>[^/]+)/deployments/?$")


def wrap(app: Any) -> Any:
    def middleware(environ: dict[str, Any], start_response: Any) -> Any:
        match = _CREATE_DEPLOYMENT.match(environ.get("PATH_INFO", ""))
        if environ.get("REQUEST_METHOD") != "POST" or match is None:
            return app(environ, start_response)
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[Any], exc_info: Any = None) -> Any:
            captured["status"] = status
            return start_response(status, headers, exc_info)

        body = b"".join(app(environ, capture))
        if str(captured.get("status", "")).startswith("2"):
            try:
                deployment_id = json.loads(body or b"{}").get("id")
            except ValueError:
                deployment_id = None
            if deployment_id:
                deployment_snapshot.record(match.group("api"), deployment_id)
        return [body]

    return middleware
