# The three client roles. Trust: only var.trusted_principal_arns, and only with the role's
# external id. Permissions: execute-api:Invoke on exactly their methods of this API and stage;
# direct table access for the full-access role only, read-only, on the table and its index
# (contract: CLIENT_ROLES).

locals {
  # The configured principals, plus the GitHub deploy role when there is one: it runs the
  # post-deploy gate (slsops verify, Locust) through the client roles.
  trusted_principal_arns = concat(
    var.trusted_principal_arns,
    [for key, role in aws_iam_role.github : role.arn if key == "deploy"],
  )

  client_roles = {
    ingest = {
      name_middle      = "ingest"
      api_methods      = ["POST/logs"]
      dynamodb_actions = []
    }
    read = {
      name_middle      = "read"
      api_methods      = ["GET/logs/recent"]
      dynamodb_actions = []
    }
    full = {
      name_middle      = "full-access"
      api_methods      = ["POST/logs", "GET/logs/recent"]
      dynamodb_actions = ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"]
    }
  }
}

data "aws_iam_policy_document" "client_trust" {
  for_each = local.client_roles

  statement {
    sid     = "TrustedPrincipalsWithExternalId"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "AWS"
      identifiers = local.trusted_principal_arns
    }

    condition {
      test     = "StringEquals"
      variable = "sts:ExternalId"
      values   = [var.external_ids[each.key]]
    }
  }
}

resource "aws_iam_role" "client" {
  for_each = local.client_roles

  name                 = "${var.name_prefix}-${each.value.name_middle}-${var.environment}"
  description          = "Simple Log Service client role (${each.key}); assume with the external id"
  assume_role_policy   = data.aws_iam_policy_document.client_trust[each.key].json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "client" {
  for_each = local.client_roles

  statement {
    sid     = "InvokeOwnMethods"
    effect  = "Allow"
    actions = ["execute-api:Invoke"]
    resources = [
      for method in each.value.api_methods :
      "${aws_api_gateway_rest_api.api.execution_arn}/${var.environment}/${method}"
    ]
  }

  dynamic "statement" {
    for_each = length(each.value.dynamodb_actions) > 0 ? [1] : []

    content {
      sid     = "ReadTableDirectly"
      effect  = "Allow"
      actions = each.value.dynamodb_actions
      resources = [
        aws_dynamodb_table.logs.arn,
        "${aws_dynamodb_table.logs.arn}/index/${local.index_name}",
      ]
    }
  }

  dynamic "statement" {
    for_each = length(each.value.dynamodb_actions) > 0 ? [1] : []

    content {
      sid       = "CmkThroughDynamoDB"
      effect    = "Allow"
      actions   = ["kms:Decrypt", "kms:DescribeKey"]
      resources = [aws_kms_key.main.arn]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["dynamodb.${local.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "client" {
  for_each = local.client_roles

  name   = "least-privilege"
  role   = aws_iam_role.client[each.key].id
  policy = data.aws_iam_policy_document.client[each.key].json
}
