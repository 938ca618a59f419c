"""Lambda handler of GET /logs/recent (thin: routing, logging and metrics from powertools)."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from log_service import runtime
from log_service.http import json_response, register_error_handlers
from log_service.recent import handle_get

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "log-read-recent"))
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "SimpleLogService"))
app = APIGatewayRestResolver()
register_error_handlers(app, logger)


@app.get("/logs/recent")
def get_recent():
    event = app.current_event.raw_event
    answer = handle_get(event.get("multiValueQueryStringParameters"), runtime.reader())
    metrics.add_metric(name="EntriesReturned", unit=MetricUnit.Count, value=answer["count"])
    return json_response(200, answer)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def handler(event, context):
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
    return app.resolve(event, context)
