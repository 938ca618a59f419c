"""Lambda handler of POST /logs (thin: routing, logging and metrics come from powertools)."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from log_service import runtime, schema
from log_service.http import json_response, register_error_handlers, request_json
from log_service.ingest import handle_post

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "log-ingest"))
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "SimpleLogService"))
app = APIGatewayRestResolver()
register_error_handlers(app, logger)


@app.post("/logs")
def post_logs():
    body = request_json(app.current_event.raw_event)
    schema.check_post_body(body)
    status, answer = handle_post(body, runtime.writer(), runtime.settings())
    entries = len(answer.get("results", [])) or 1
    metrics.add_metric(name="EntriesReceived", unit=MetricUnit.Count, value=entries)
    not_stored = [row for row in answer.get("results", []) if row.get("status") == "not_stored"]
    if not_stored:  # the client was told (207); the log says why, for whoever is on call
        logger.warning("entries not stored", extra={"not_stored": not_stored})
    return json_response(status, answer)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def handler(event, context):
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
    return app.resolve(event, context)
