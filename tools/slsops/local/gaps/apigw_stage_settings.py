"""Gap: moto rebuilds a stage on CreateDeployment with ``stageName``; AWS keeps its settings.

On AWS, creating a deployment for an existing stage only points the stage at the new
deployment (and sets any stage variables given): method settings (throttling, logging,
metrics), access logging, X-Ray tracing, description, caching and tags stay. moto replaces the
stage with a fresh one, so every redeploy (``terraform apply`` after an API change) silently
drops them. This middleware keeps the stage object moto had and moves only its deployment id
(and given variables) over from the fresh one.
"""

from __future__ import annotations

import json
import re
from typing import Any

from slsops.local import deployment_snapshot, wsgi_capture

_CREATE_DEPLOYMENT = re.compile(r"^/restapis/(?P<api>[^/]+)/deployments/?$")


def _stage_name(body: bytes) -> str | None:
    try:
        document = json.loads(body or b"{}")
    except ValueError:
        return None
    name = document.get("stageName") if isinstance(document, dict) else None
    return name if isinstance(name, str) and name else None


def wrap(app: Any) -> Any:
    def middleware(environ: dict[str, Any], start_response: Any) -> Any:
        create = _CREATE_DEPLOYMENT.match(environ.get("PATH_INFO", ""))
        if environ.get("REQUEST_METHOD") != "POST" or create is None:
            return app(environ, start_response)
        stage_name = _stage_name(wsgi_capture.read_body(environ))
        api = deployment_snapshot.find_rest_api(create.group("api"))
        kept = api.stages.get(stage_name) if api is not None and stage_name else None
        if kept is None:
            return app(environ, start_response)
        status, headers, body = wsgi_capture.call(app, environ)
        fresh = api.stages.get(stage_name)
        if status.startswith("2") and fresh is not None and fresh is not kept:
            kept.deployment_id = fresh.deployment_id
            kept.variables = {**(kept.variables or {}), **(fresh.variables or {})}
            api.stages[stage_name] = kept
        return wsgi_capture.respond(start_response, status, headers, body)

    return middleware
