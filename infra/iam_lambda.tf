# One execution role per function, granting exactly the DynamoDB actions its code uses
# (contract: FunctionContract.dynamodb_actions), its own log group, X-Ray, and the CMK only
# through DynamoDB.

locals {
  function_dynamodb = {
    # A conditional PutItem per marker, then the log items in BatchWriteItem calls (a single
    # entry: a second PutItem); a replay reads the marker (GetItem).
    ingest = {
      actions  = ["dynamodb:BatchWriteItem", "dynamodb:GetItem", "dynamodb:PutItem"]
      on_index = false
    }
    read = {
      actions  = ["dynamodb:Query"]
      on_index = true
    }
  }
}

data "aws_iam_policy_document" "lambda_trust" {
  statement {
    sid     = "LambdaServiceAssumesForThisAccount"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "lambda_exec" {
  for_each = local.functions

  name                 = "${var.name_prefix}-${each.value.name_middle}-exec-${var.environment}"
  description          = "Execution role of ${each.value.function_name}"
  assume_role_policy   = data.aws_iam_policy_document.lambda_trust.json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "lambda_exec" {
  for_each = local.functions

  statement {
    sid     = "TableAccessTheCodeUses"
    effect  = "Allow"
    actions = local.function_dynamodb[each.key].actions
    resources = concat(
      [aws_dynamodb_table.logs.arn],
      local.function_dynamodb[each.key].on_index ? ["${aws_dynamodb_table.logs.arn}/index/${local.index_name}"] : [],
    )
  }

  statement {
    sid       = "CmkThroughDynamoDB"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [aws_kms_key.main.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["dynamodb.${local.region}.amazonaws.com", "lambda.${local.region}.amazonaws.com"]
    }
  }

  statement {
    sid       = "OwnLogGroup"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.function[each.key].arn}:*"]
  }

  # X-Ray has no resource-level permissions for these two actions.
  statement {
    sid       = "Tracing"
    effect    = "Allow"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "lambda_exec" {
  for_each = local.functions

  name   = "least-privilege"
  role   = aws_iam_role.lambda_exec[each.key].id
  policy = data.aws_iam_policy_document.lambda_exec[each.key].json
}
