# The two functions: one zip (nox -s package), published versions behind the alias "live".
# API Gateway invokes the alias, so a rollback is `aws lambda update-alias` to an older version
# (runbooks/deploy-and-roll-back.md).

locals {
  functions = {
    ingest = {
      name_middle   = "ingest"
      function_name = "${var.name_prefix}-ingest-${var.environment}"
      handler       = "log_service.ingest_handler.handler"
    }
    read = {
      name_middle   = "read-recent"
      function_name = "${var.name_prefix}-read-recent-${var.environment}"
      handler       = "log_service.read_handler.handler"
    }
  }

  lambda_runtime      = "python3.12"
  lambda_architecture = "x86_64"
  lambda_tracing_mode = "Active"
  lambda_alias_name   = "live"

  lambda_environment = {
    DYNAMODB_TABLE_NAME          = local.table_name
    INDEX_NAME                   = local.index_name
    SHARD_COUNT                  = tostring(var.shard_count)
    RETENTION_DAYS               = tostring(var.retention_days)
    MAX_CLOCK_SKEW_SECONDS       = tostring(var.max_clock_skew_seconds)
    DEFAULT_SERVICE_NAME         = "default"
    POWERTOOLS_SERVICE_NAME      = var.name_prefix
    POWERTOOLS_METRICS_NAMESPACE = "SimpleLogService"
    POWERTOOLS_LOG_LEVEL         = var.powertools_log_level
  }
}

resource "aws_lambda_function" "fn" {
  for_each = local.functions
  #checkov:skip=CKV_AWS_116:API Gateway invokes synchronously; a dead-letter queue only applies to asynchronous invocations.
  #checkov:skip=CKV_AWS_117:The functions reach only DynamoDB, CloudWatch and X-Ray over AWS endpoints; a VPC would add NAT or endpoints and no protection.
  #checkov:skip=CKV_AWS_272:The zip is built reproducibly and pinned by source_code_hash; code signing needs a Signer profile outside this stack.

  function_name                  = each.value.function_name
  description                    = "Simple Log Service: ${each.key}"
  role                           = aws_iam_role.lambda_exec[each.key].arn
  handler                        = each.value.handler
  runtime                        = local.lambda_runtime
  architectures                  = [local.lambda_architecture]
  memory_size                    = var.lambda_memory_mb
  timeout                        = var.lambda_timeout_seconds
  reserved_concurrent_executions = var.lambda_reserved_concurrency
  filename                       = local.lambda_zip_path
  source_code_hash               = filebase64sha256(local.lambda_zip_path)
  publish                        = true
  kms_key_arn                    = aws_kms_key.main.arn

  tracing_config {
    mode = local.lambda_tracing_mode
  }

  environment {
    variables = local.lambda_environment
  }

  # The log group exists (KMS, retention) before the function can create its own.
  depends_on = [aws_iam_role_policy.lambda_exec, aws_cloudwatch_log_group.function]
}

resource "aws_lambda_alias" "live" {
  for_each = local.functions

  name             = local.lambda_alias_name
  description      = "What API Gateway invokes; move it to roll back."
  function_name    = aws_lambda_function.fn[each.key].function_name
  function_version = aws_lambda_function.fn[each.key].version
}
