# Log groups (KMS, retention), the account-level API Gateway logging role, alarms, dashboard.
# Alarm thresholds: tools/slsops/contract.py ALARMS (tests/test_infra_contract.py).

resource "aws_cloudwatch_log_group" "function" {
  for_each = local.functions
  #checkov:skip=CKV_AWS_338:Function logs are kept 7 days by design (architecture: 7-day retention); log entries themselves live in DynamoDB.

  name              = "/aws/lambda/${each.value.function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_cloudwatch_log_group" "api_access" {
  #checkov:skip=CKV_AWS_338:API access logs are kept 7 days by design (architecture: 7-day retention).
  name              = local.api_access_log_group
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

# --- API Gateway's account-level CloudWatch role (one per account and region) ---------------

data "aws_iam_policy_document" "apigw_trust" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["apigateway.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "apigw_cloudwatch" {
  count = var.enable_apigw_account_role ? 1 : 0

  name               = "${var.name_prefix}-apigw-logs-${var.environment}"
  description        = "Lets API Gateway write access and execution logs to CloudWatch Logs"
  assume_role_policy = data.aws_iam_policy_document.apigw_trust.json
}

# The actions of the AWS-managed AmazonAPIGatewayPushToCloudWatchLogs policy, written inline so
# the stack does not depend on managed policies (and applies to the local stack as well). The
# account-level role serves every API of the account and region, hence all its log groups.
data "aws_iam_policy_document" "apigw_cloudwatch" {
  statement {
    sid    = "ApiGatewayWritesLogs"
    effect = "Allow"
    actions = [
      "logs:CreateLogGroup",
      "logs:CreateLogStream",
      "logs:DescribeLogGroups",
      "logs:DescribeLogStreams",
      "logs:PutLogEvents",
      "logs:GetLogEvents",
      "logs:FilterLogEvents",
    ]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"]
  }
}

resource "aws_iam_role_policy" "apigw_cloudwatch" {
  count = var.enable_apigw_account_role ? 1 : 0

  name   = "push-to-cloudwatch-logs"
  role   = aws_iam_role.apigw_cloudwatch[0].id
  policy = data.aws_iam_policy_document.apigw_cloudwatch.json
}

resource "aws_api_gateway_account" "cloudwatch" {
  count = var.enable_apigw_account_role ? 1 : 0

  cloudwatch_role_arn = aws_iam_role.apigw_cloudwatch[0].arn
  depends_on          = [aws_iam_role_policy.apigw_cloudwatch]
}

# --- Alarms ------------------------------------------------------------------------------------

locals {
  alarm_names = {
    ingest_error_rate  = "${var.name_prefix}-ingest-error-rate-${var.environment}"
    read_error_rate    = "${var.name_prefix}-read-recent-error-rate-${var.environment}"
    dynamodb_throttles = "${var.name_prefix}-dynamodb-throttles-${var.environment}"
    api_5xx            = "${var.name_prefix}-api-5xx-${var.environment}"
  }

  # Per-function error-rate alarm key => function key (one alarm per function).
  error_rate_alarms = {
    ingest_error_rate = "ingest"
    read_error_rate   = "read"
  }

  lambda_error_rate_threshold_percent = 5
  lambda_error_rate_period_seconds    = 300
  dynamodb_throttle_threshold         = 10
  dynamodb_throttle_period_seconds    = 60
  # The operations the service calls (ThrottledRequests is published per operation).
  dynamodb_throttle_operations = ["BatchWriteItem", "GetItem", "PutItem", "Query"]
  api_5xx_threshold            = 10
  api_5xx_period_seconds       = 300
}

# Error rate in percent: Errors / Invocations over 5 minutes (not a raw error count).
resource "aws_cloudwatch_metric_alarm" "lambda_error_rate" {
  for_each = local.error_rate_alarms

  alarm_name          = local.alarm_names[each.key]
  alarm_description   = "Lambda ${local.functions[each.value].function_name} error rate above ${local.lambda_error_rate_threshold_percent}% over 5 minutes. Runbook: ${var.runbook_base_url}/alarm-lambda-error-rate.md"
  comparison_operator = "GreaterThanThreshold"
  threshold           = local.lambda_error_rate_threshold_percent
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]

  metric_query {
    id          = "error_rate"
    expression  = "IF(invocations > 0, 100 * errors / invocations, 0)"
    label       = "Error rate (%)"
    return_data = true
  }

  metric_query {
    id = "errors"

    metric {
      namespace   = "AWS/Lambda"
      metric_name = "Errors"
      period      = local.lambda_error_rate_period_seconds
      stat        = "Sum"
      dimensions = {
        FunctionName = local.functions[each.value].function_name
      }
    }
  }

  metric_query {
    id = "invocations"

    metric {
      namespace   = "AWS/Lambda"
      metric_name = "Invocations"
      period      = local.lambda_error_rate_period_seconds
      stat        = "Sum"
      dimensions = {
        FunctionName = local.functions[each.value].function_name
      }
    }
  }
}

# Throttled requests summed over the operations the service uses, per minute.
resource "aws_cloudwatch_metric_alarm" "dynamodb_throttles" {
  alarm_name          = local.alarm_names.dynamodb_throttles
  alarm_description   = "DynamoDB table ${local.table_name}: more than ${local.dynamodb_throttle_threshold} throttled requests in a minute. Runbook: ${var.runbook_base_url}/alarm-dynamodb-throttling.md"
  comparison_operator = "GreaterThanThreshold"
  threshold           = local.dynamodb_throttle_threshold
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]

  metric_query {
    id          = "throttled"
    expression  = "SUM(METRICS())"
    label       = "Throttled requests"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = local.dynamodb_throttle_operations

    content {
      id = "throttled_${lower(metric_query.value)}"

      metric {
        namespace   = "AWS/DynamoDB"
        metric_name = "ThrottledRequests"
        period      = local.dynamodb_throttle_period_seconds
        stat        = "Sum"
        dimensions = {
          TableName = aws_dynamodb_table.logs.name
          Operation = metric_query.value
        }
      }
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "api_5xx" {
  alarm_name          = local.alarm_names.api_5xx
  alarm_description   = "API ${local.api_name} stage ${var.environment}: more than ${local.api_5xx_threshold} 5xx answers in 5 minutes. Runbook: ${var.runbook_base_url}/alarm-api-5xx.md"
  namespace           = "AWS/ApiGateway"
  metric_name         = "5XXError"
  statistic           = "Sum"
  period              = local.api_5xx_period_seconds
  comparison_operator = "GreaterThanThreshold"
  threshold           = local.api_5xx_threshold
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]

  dimensions = {
    ApiName = aws_api_gateway_rest_api.api.name
    Stage   = aws_api_gateway_stage.api.stage_name
  }
}

# --- Dashboard ---------------------------------------------------------------------------------

locals {
  dashboard_widgets = [
    {
      type = "metric", x = 0, y = 0, width = 12, height = 6
      properties = {
        title  = "API requests and errors"
        region = local.region
        stat   = "Sum"
        period = 60
        metrics = [
          ["AWS/ApiGateway", "Count", "ApiName", local.api_name, "Stage", var.environment],
          [".", "4XXError", ".", ".", ".", "."],
          [".", "5XXError", ".", ".", ".", "."],
        ]
      }
    },
    {
      type = "metric", x = 12, y = 0, width = 12, height = 6
      properties = {
        title  = "API latency (p50, p99)"
        region = local.region
        period = 60
        metrics = [
          ["AWS/ApiGateway", "Latency", "ApiName", local.api_name, "Stage", var.environment, { stat = "p50" }],
          ["...", { stat = "p99" }],
        ]
      }
    },
    {
      type = "metric", x = 0, y = 6, width = 12, height = 6
      properties = {
        title  = "Lambda invocations, errors, throttles"
        region = local.region
        stat   = "Sum"
        period = 60
        metrics = flatten([
          for key, fn in local.functions : [
            ["AWS/Lambda", "Invocations", "FunctionName", fn.function_name],
            [".", "Errors", ".", "."],
            [".", "Throttles", ".", "."],
          ]
        ])
      }
    },
    {
      type = "metric", x = 12, y = 6, width = 12, height = 6
      properties = {
        title  = "Lambda duration (p99) and concurrency"
        region = local.region
        period = 60
        metrics = flatten([
          for key, fn in local.functions : [
            ["AWS/Lambda", "Duration", "FunctionName", fn.function_name, { stat = "p99" }],
            [".", "ConcurrentExecutions", ".", ".", { stat = "Maximum" }],
          ]
        ])
      }
    },
    {
      type = "metric", x = 0, y = 12, width = 12, height = 6
      properties = {
        title  = "DynamoDB consumed capacity and throttles"
        region = local.region
        stat   = "Sum"
        period = 60
        metrics = [
          ["AWS/DynamoDB", "ConsumedWriteCapacityUnits", "TableName", local.table_name],
          [".", "ConsumedReadCapacityUnits", ".", "."],
          [".", "WriteThrottleEvents", ".", "."],
          [".", "ReadThrottleEvents", ".", "."],
        ]
      }
    },
    {
      type = "alarm", x = 12, y = 12, width = 12, height = 6
      properties = {
        title = "Alarms"
        alarms = concat(
          [for alarm in aws_cloudwatch_metric_alarm.lambda_error_rate : alarm.arn],
          [aws_cloudwatch_metric_alarm.dynamodb_throttles.arn, aws_cloudwatch_metric_alarm.api_5xx.arn],
        )
      }
    },
  ]
}

resource "aws_cloudwatch_dashboard" "main" {
  dashboard_name = local.dashboard_name
  dashboard_body = jsonencode({ widgets = local.dashboard_widgets })
}
