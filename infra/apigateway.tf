# REST API: POST /logs and GET /logs/recent, both AWS_IAM, Lambda proxy to the "live" aliases,
# request validation from service/openapi.json, a stage named after the environment with
# method throttling, X-Ray and access logs.

locals {
  openapi = jsondecode(file(local.api_document_path))

  # The POST body schema (JSON Schema draft-04, self-contained) the document references.
  post_logs_schema_ref = local.openapi.paths["/logs"].post.requestBody.content["application/json"].schema["$ref"]
  post_logs_schema     = local.openapi.components.schemas[element(split("/", local.post_logs_schema_ref), 3)]

  # GET /logs/recent query parameters as API Gateway declares them (name => required).
  recent_query_parameters = {
    for p in local.openapi.paths["/logs/recent"].get.parameters :
    "method.request.querystring.${p.name}" => p.required if p.in == "query"
  }

  # method key => (function key, HTTP method, path); also the Lambda permissions' scope.
  api_methods = {
    post_logs = {
      function    = "ingest"
      http_method = "POST"
      path        = "/logs"
    }
    get_recent = {
      function    = "read"
      http_method = "GET"
      path        = "/logs/recent"
    }
  }

  api_authorization    = "AWS_IAM"
  api_integration_type = "AWS_PROXY"
}

resource "aws_api_gateway_rest_api" "api" {
  name        = local.api_name
  description = "Simple Log Service (${var.environment}): SigV4-signed callers assuming the client roles"

  endpoint_configuration {
    types = ["REGIONAL"]
  }

  # Should the API ever be replaced, the new one exists before the old one goes.
  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_api_gateway_resource" "logs" {
  rest_api_id = aws_api_gateway_rest_api.api.id
  parent_id   = aws_api_gateway_rest_api.api.root_resource_id
  path_part   = "logs"
}

resource "aws_api_gateway_resource" "recent" {
  rest_api_id = aws_api_gateway_rest_api.api.id
  parent_id   = aws_api_gateway_resource.logs.id
  path_part   = "recent"
}

resource "aws_api_gateway_request_validator" "body" {
  rest_api_id                 = aws_api_gateway_rest_api.api.id
  name                        = "body"
  validate_request_body       = true
  validate_request_parameters = false
}

resource "aws_api_gateway_request_validator" "parameters" {
  rest_api_id                 = aws_api_gateway_rest_api.api.id
  name                        = "parameters"
  validate_request_body       = false
  validate_request_parameters = true
}

resource "aws_api_gateway_model" "post_logs" {
  rest_api_id  = aws_api_gateway_rest_api.api.id
  name         = "PostLogsRequest"
  description  = "Coarse POST /logs body check (the handler applies the full rules)"
  content_type = "application/json"
  schema       = jsonencode(local.post_logs_schema)
}

resource "aws_api_gateway_method" "post_logs" {
  rest_api_id          = aws_api_gateway_rest_api.api.id
  resource_id          = aws_api_gateway_resource.logs.id
  http_method          = "POST"
  authorization        = local.api_authorization
  request_validator_id = aws_api_gateway_request_validator.body.id

  request_models = {
    "application/json" = aws_api_gateway_model.post_logs.name
  }
}

resource "aws_api_gateway_method" "get_recent" {
  rest_api_id          = aws_api_gateway_rest_api.api.id
  resource_id          = aws_api_gateway_resource.recent.id
  http_method          = "GET"
  authorization        = local.api_authorization
  request_validator_id = aws_api_gateway_request_validator.parameters.id
  request_parameters   = local.recent_query_parameters
}

resource "aws_api_gateway_integration" "post_logs" {
  rest_api_id             = aws_api_gateway_rest_api.api.id
  resource_id             = aws_api_gateway_resource.logs.id
  http_method             = aws_api_gateway_method.post_logs.http_method
  type                    = local.api_integration_type
  integration_http_method = "POST"
  uri                     = aws_lambda_alias.live["ingest"].invoke_arn
}

resource "aws_api_gateway_integration" "get_recent" {
  rest_api_id             = aws_api_gateway_rest_api.api.id
  resource_id             = aws_api_gateway_resource.recent.id
  http_method             = aws_api_gateway_method.get_recent.http_method
  type                    = local.api_integration_type
  integration_http_method = "POST"
  uri                     = aws_lambda_alias.live["read"].invoke_arn
}

resource "aws_api_gateway_deployment" "api" {
  rest_api_id = aws_api_gateway_rest_api.api.id
  description = "Managed by Terraform; redeployed when the API changes"

  # Only inputs and ids that stay stable across refreshes (refresh turns null maps and lists
  # into empty ones, which would redeploy on every plan).
  triggers = {
    redeployment = sha1(jsonencode([
      aws_api_gateway_resource.logs.id,
      aws_api_gateway_resource.recent.id,
      aws_api_gateway_method.post_logs.id,
      aws_api_gateway_method.post_logs.authorization,
      aws_api_gateway_method.get_recent.id,
      aws_api_gateway_method.get_recent.authorization,
      aws_api_gateway_integration.post_logs.id,
      aws_api_gateway_integration.post_logs.uri,
      aws_api_gateway_integration.post_logs.type,
      aws_api_gateway_integration.get_recent.id,
      aws_api_gateway_integration.get_recent.uri,
      aws_api_gateway_integration.get_recent.type,
      aws_api_gateway_request_validator.body.id,
      aws_api_gateway_request_validator.parameters.id,
      local.post_logs_schema,
      local.recent_query_parameters,
    ]))
  }

  lifecycle {
    create_before_destroy = true
  }

  depends_on = [
    aws_api_gateway_integration.post_logs,
    aws_api_gateway_integration.get_recent,
  ]
}

resource "aws_api_gateway_stage" "api" {
  #checkov:skip=CKV_AWS_120:Responses are per caller and per query; caching would serve stale or foreign data.
  #checkov:skip=CKV2_AWS_29:Callers are SigV4-authenticated AWS principals behind per-method throttling; WAF is left to the account's edge setup.
  #checkov:skip=CKV2_AWS_51:Clients authenticate with SigV4 (AWS_IAM); the backends are Lambda, not HTTP endpoints that would check a client certificate.
  rest_api_id          = aws_api_gateway_rest_api.api.id
  deployment_id        = aws_api_gateway_deployment.api.id
  stage_name           = var.environment
  xray_tracing_enabled = true

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api_access.arn
    format = jsonencode({
      requestId          = "$context.requestId"
      extendedRequestId  = "$context.extendedRequestId"
      ip                 = "$context.identity.sourceIp"
      caller             = "$context.identity.caller"
      userArn            = "$context.identity.userArn"
      requestTime        = "$context.requestTime"
      httpMethod         = "$context.httpMethod"
      resourcePath       = "$context.resourcePath"
      status             = "$context.status"
      protocol           = "$context.protocol"
      responseLength     = "$context.responseLength"
      integrationLatency = "$context.integrationLatency"
      errorMessage       = "$context.error.message"
      xrayTraceId        = "$context.xrayTraceId"
    })
  }

  depends_on = [aws_api_gateway_account.cloudwatch]
}

resource "aws_api_gateway_method_settings" "all" {
  #checkov:skip=CKV_AWS_225:Responses are per caller and per query; caching would serve stale or foreign data.
  rest_api_id = aws_api_gateway_rest_api.api.id
  stage_name  = aws_api_gateway_stage.api.stage_name
  method_path = "*/*"

  settings {
    throttling_rate_limit  = var.api_throttling_rate_limit
    throttling_burst_limit = var.api_throttling_burst_limit
    metrics_enabled        = true
    # Execution logs need the account-level CloudWatch role; access logs are always on.
    logging_level        = var.enable_apigw_account_role ? "ERROR" : "OFF"
    data_trace_enabled   = false
    caching_enabled      = false
    cache_data_encrypted = true
  }
}

# Lambda permissions scoped to this API, this stage, this method and the "live" alias.
resource "aws_lambda_permission" "api" {
  for_each = local.api_methods

  statement_id  = "ApiGateway-${each.value.http_method}-${replace(trimprefix(each.value.path, "/"), "/", "-")}"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.fn[each.value.function].function_name
  qualifier     = aws_lambda_alias.live[each.value.function].name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_api_gateway_rest_api.api.execution_arn}/${var.environment}/${each.value.http_method}${each.value.path}"
}
