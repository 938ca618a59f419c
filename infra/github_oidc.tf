# GitHub Actions deployment through OIDC (only when var.github_repository is set).
#
# Two roles, least privilege, no long-lived keys, no administrator policy:
# * plan role: pull requests of the repository; read-only metadata of this stack plus the
#   remote state (and its lock), no table data.
# * deploy role: jobs of the GitHub environment var.github_environment (protected, main only);
#   manages exactly the resource families of this stack, named with var.name_prefix, and may
#   assume the client roles for the post-deploy gate (`slsops verify`, Locust).
#
# Known limit: a role that may create roles and write their inline policies can in principle
# grant those roles more than it has itself. The deploy role may only pass roles of this stack
# to Lambda, API Gateway and Config, and may not change the two GitHub roles; review IAM
# changes in the plan of every pull request.

locals {
  github_enabled = var.github_repository != ""
  github_oidc_provider_arn = var.github_oidc_provider_arn != "" ? var.github_oidc_provider_arn : (
    local.github_enabled ? aws_iam_openid_connect_provider.github[0].arn : ""
  )
  github_deploy_role_name = "${var.name_prefix}-github-deploy-${var.environment}"
  github_plan_role_name   = "${var.name_prefix}-github-plan-${var.environment}"
  stack_arn_prefix        = "arn:${local.partition}:%s:${local.region}:${local.account_id}"
  state_bucket_arn        = "arn:${local.partition}:s3:::${var.terraform_state_bucket}"
}

resource "aws_iam_openid_connect_provider" "github" {
  count = local.github_enabled && var.github_oidc_provider_arn == "" ? 1 : 0

  url            = "https://token.actions.githubusercontent.com"
  client_id_list = ["sts.amazonaws.com"]
  # AWS trusts GitHub's OIDC certificate authority itself; the API still wants a thumbprint.
  thumbprint_list = ["6938fd4d98bab03faadb97b34396831e3780aea1", "1c58a3a8518e8759bf075b76b750d4f2df264fcd"]
}

data "aws_iam_policy_document" "github_trust" {
  for_each = local.github_enabled ? {
    plan   = "repo:${var.github_repository}:pull_request"
    deploy = "repo:${var.github_repository}:environment:${var.github_environment}"
  } : {}

  statement {
    sid     = "GitHubActionsOfThisRepository"
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.github_oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:aud"
      values   = ["sts.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:sub"
      values   = [each.value]
    }
  }
}

# --- What both roles read ------------------------------------------------------------------

data "aws_iam_policy_document" "github_read" {
  count = local.github_enabled ? 1 : 0
  #checkov:skip=CKV_AWS_356:Describe/List calls of these services have no resource-level scoping; they return metadata, never table data.
  #checkov:skip=CKV_AWS_111:Only read actions here; the write statements (deploy role) are scoped by name.
  #checkov:skip=CKV_AWS_109:Read-only metadata; the key actions are Get/Describe/List.

  statement {
    sid    = "ReadStackMetadata"
    effect = "Allow"
    actions = [
      "apigateway:GET",
      "cloudwatch:DescribeAlarms",
      "cloudwatch:GetDashboard",
      "cloudwatch:ListTagsForResource",
      "config:DescribeConfigRules",
      "config:DescribeConfigurationRecorders",
      "config:DescribeConfigurationRecorderStatus",
      "config:DescribeDeliveryChannels",
      "config:ListTagsForResource",
      "dynamodb:DescribeContinuousBackups",
      "dynamodb:DescribeContributorInsights",
      "dynamodb:DescribeTable",
      "dynamodb:DescribeTimeToLive",
      "dynamodb:ListTagsOfResource",
      "iam:GetOpenIDConnectProvider",
      "iam:GetRole",
      "iam:GetRolePolicy",
      "iam:ListAttachedRolePolicies",
      "iam:ListRolePolicies",
      "kms:DescribeKey",
      "kms:GetKeyPolicy",
      "kms:GetKeyRotationStatus",
      "kms:ListAliases",
      "kms:ListResourceTags",
      "lambda:GetAlias",
      "lambda:GetFunction",
      "lambda:GetFunctionCodeSigningConfig",
      "lambda:GetFunctionConcurrency",
      "lambda:GetPolicy",
      "lambda:ListVersionsByFunction",
      "logs:DescribeLogGroups",
      "logs:ListTagsForResource",
      "logs:ListTagsLogGroup",
      "s3:GetBucketAcl",
      "s3:GetBucketPolicy",
      "s3:GetBucketPublicAccessBlock",
      "s3:GetBucketTagging",
      "s3:GetBucketVersioning",
      "s3:GetEncryptionConfiguration",
      "s3:GetLifecycleConfiguration",
      "sns:GetSubscriptionAttributes",
      "sns:GetTopicAttributes",
      "sns:ListSubscriptionsByTopic",
      "sns:ListTagsForResource",
    ]
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = var.terraform_state_bucket != "" ? [1] : []

    content {
      sid       = "StateAndItsLockFile"
      effect    = "Allow"
      actions   = ["s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
      resources = [local.state_bucket_arn, "${local.state_bucket_arn}/*"]
    }
  }

  dynamic "statement" {
    for_each = var.terraform_lock_table != "" ? [1] : []

    content {
      sid       = "StateLockTable"
      effect    = "Allow"
      actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:DescribeTable"]
      resources = ["${format(local.stack_arn_prefix, "dynamodb")}:table/${var.terraform_lock_table}"]
    }
  }
}

# --- What only the deploy role writes ------------------------------------------------------

data "aws_iam_policy_document" "github_deploy" {
  count = local.github_enabled ? 1 : 0
  #checkov:skip=CKV_AWS_111:kms:CreateKey, the Config recorder calls and log group listing cannot be scoped to a resource; CreateKey requires the stack's Project tag.
  #checkov:skip=CKV_AWS_356:kms:CreateKey and the Config recorder/delivery-channel calls take no resource ARN.
  #checkov:skip=CKV_AWS_109:Key management is limited to keys tagged Project=name_prefix.
  #checkov:skip=CKV_AWS_110:iam:PassRole is limited to this stack's roles and to Lambda, API Gateway and Config.

  statement {
    sid    = "Table"
    effect = "Allow"
    actions = [
      "dynamodb:CreateTable",
      "dynamodb:DeleteTable",
      "dynamodb:TagResource",
      "dynamodb:UntagResource",
      "dynamodb:UpdateContinuousBackups",
      "dynamodb:UpdateContributorInsights",
      "dynamodb:UpdateTable",
      "dynamodb:UpdateTimeToLive",
    ]
    resources = ["${format(local.stack_arn_prefix, "dynamodb")}:table/${var.name_prefix}-*"]
  }

  statement {
    sid    = "Functions"
    effect = "Allow"
    actions = [
      "lambda:AddPermission",
      "lambda:CreateAlias",
      "lambda:CreateFunction",
      "lambda:DeleteAlias",
      "lambda:DeleteFunction",
      "lambda:DeleteFunctionConcurrency",
      "lambda:PublishVersion",
      "lambda:PutFunctionConcurrency",
      "lambda:RemovePermission",
      "lambda:TagResource",
      "lambda:UntagResource",
      "lambda:UpdateAlias",
      "lambda:UpdateFunctionCode",
      "lambda:UpdateFunctionConfiguration",
    ]
    resources = ["${format(local.stack_arn_prefix, "lambda")}:function:${var.name_prefix}-*"]
  }

  statement {
    sid    = "StackRoles"
    effect = "Allow"
    actions = [
      "iam:CreateRole",
      "iam:DeleteRole",
      "iam:DeleteRolePolicy",
      "iam:ListInstanceProfilesForRole",
      "iam:PutRolePolicy",
      "iam:TagRole",
      "iam:UntagRole",
      "iam:UpdateAssumeRolePolicy",
      "iam:UpdateRole",
      "iam:UpdateRoleDescription",
    ]
    resources = ["arn:${local.partition}:iam::${local.account_id}:role/${var.name_prefix}-*"]
  }

  statement {
    sid       = "ConfigRoleManagedPolicyOnly"
    effect    = "Allow"
    actions   = ["iam:AttachRolePolicy", "iam:DetachRolePolicy"]
    resources = ["arn:${local.partition}:iam::${local.account_id}:role/${var.name_prefix}-config-*"]

    condition {
      test     = "ArnEquals"
      variable = "iam:PolicyARN"
      values   = ["arn:${local.partition}:iam::aws:policy/service-role/AWS_ConfigRole"]
    }
  }

  statement {
    sid       = "PassStackRolesToTheirServices"
    effect    = "Allow"
    actions   = ["iam:PassRole"]
    resources = ["arn:${local.partition}:iam::${local.account_id}:role/${var.name_prefix}-*"]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["lambda.amazonaws.com", "apigateway.amazonaws.com", "config.amazonaws.com"]
    }
  }

  statement {
    sid    = "NeverChangeTheGitHubRoles"
    effect = "Deny"
    actions = [
      "iam:AttachRolePolicy",
      "iam:DeleteRole",
      "iam:DeleteRolePolicy",
      "iam:DetachRolePolicy",
      "iam:PutRolePolicy",
      "iam:UpdateAssumeRolePolicy",
    ]
    resources = [
      "arn:${local.partition}:iam::${local.account_id}:role/${local.github_deploy_role_name}",
      "arn:${local.partition}:iam::${local.account_id}:role/${local.github_plan_role_name}",
    ]
  }

  statement {
    sid       = "AssumeClientRolesForThePostDeployGate"
    effect    = "Allow"
    actions   = ["sts:AssumeRole"]
    resources = [for key, role in local.client_roles : "arn:${local.partition}:iam::${local.account_id}:role/${var.name_prefix}-${role.name_middle}-${var.environment}"]
  }

  statement {
    sid       = "CreateTaggedKeys"
    effect    = "Allow"
    actions   = ["kms:CreateKey", "kms:TagResource"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/Project"
      values   = [var.name_prefix]
    }
  }

  statement {
    sid    = "ManageAndUseStackKeys"
    effect = "Allow"
    actions = [
      "kms:CreateGrant",
      "kms:Decrypt",
      "kms:Encrypt",
      "kms:EnableKeyRotation",
      "kms:GenerateDataKey",
      "kms:PutKeyPolicy",
      "kms:ScheduleKeyDeletion",
      "kms:UntagResource",
      "kms:UpdateKeyDescription",
    ]
    resources = ["arn:${local.partition}:kms:${local.region}:${local.account_id}:key/*"]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/Project"
      values   = [var.name_prefix]
    }
  }

  statement {
    sid     = "StackKeyAliases"
    effect  = "Allow"
    actions = ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"]
    resources = [
      "arn:${local.partition}:kms:${local.region}:${local.account_id}:alias/${var.name_prefix}-*",
      "arn:${local.partition}:kms:${local.region}:${local.account_id}:key/*",
    ]
  }

  statement {
    sid    = "LogGroups"
    effect = "Allow"
    actions = [
      "logs:AssociateKmsKey",
      "logs:CreateLogGroup",
      "logs:DeleteLogGroup",
      "logs:DisassociateKmsKey",
      "logs:PutRetentionPolicy",
      "logs:TagLogGroup",
      "logs:TagResource",
      "logs:UntagLogGroup",
      "logs:UntagResource",
    ]
    resources = [
      "${format(local.stack_arn_prefix, "logs")}:log-group:/aws/lambda/${var.name_prefix}-*",
      "${format(local.stack_arn_prefix, "logs")}:log-group:/aws/apigateway/${var.name_prefix}-*",
    ]
  }

  statement {
    sid    = "Api"
    effect = "Allow"
    actions = [
      "apigateway:DELETE",
      "apigateway:PATCH",
      "apigateway:POST",
      "apigateway:PUT",
    ]
    resources = [
      "arn:${local.partition}:apigateway:${local.region}::/restapis",
      "arn:${local.partition}:apigateway:${local.region}::/restapis/*",
      "arn:${local.partition}:apigateway:${local.region}::/account",
      "arn:${local.partition}:apigateway:${local.region}::/tags/*",
    ]
  }

  statement {
    sid    = "AlarmsAndDashboard"
    effect = "Allow"
    actions = [
      "cloudwatch:DeleteAlarms",
      "cloudwatch:DeleteDashboards",
      "cloudwatch:PutDashboard",
      "cloudwatch:PutMetricAlarm",
      "cloudwatch:TagResource",
      "cloudwatch:UntagResource",
    ]
    resources = [
      "${format(local.stack_arn_prefix, "cloudwatch")}:alarm:${var.name_prefix}-*",
      "arn:${local.partition}:cloudwatch::${local.account_id}:dashboard/${var.name_prefix}-*",
    ]
  }

  statement {
    sid    = "AlarmTopic"
    effect = "Allow"
    actions = [
      "sns:CreateTopic",
      "sns:DeleteTopic",
      "sns:SetTopicAttributes",
      "sns:Subscribe",
      "sns:TagResource",
      "sns:Unsubscribe",
      "sns:UntagResource",
    ]
    resources = ["${format(local.stack_arn_prefix, "sns")}:${var.name_prefix}-*"]
  }

  statement {
    sid    = "ConfigRulesAndRecorder"
    effect = "Allow"
    actions = [
      "config:DeleteConfigRule",
      "config:DeleteConfigurationRecorder",
      "config:DeleteDeliveryChannel",
      "config:PutConfigRule",
      "config:PutConfigurationRecorder",
      "config:PutDeliveryChannel",
      "config:StartConfigurationRecorder",
      "config:StopConfigurationRecorder",
      "config:TagResource",
      "config:UntagResource",
    ]
    resources = ["*"]
  }

  statement {
    sid    = "ConfigBucket"
    effect = "Allow"
    actions = [
      "s3:CreateBucket",
      "s3:DeleteBucket",
      "s3:DeleteBucketPolicy",
      "s3:PutBucketPolicy",
      "s3:PutBucketPublicAccessBlock",
      "s3:PutBucketTagging",
      "s3:PutBucketVersioning",
      "s3:PutEncryptionConfiguration",
      "s3:PutLifecycleConfiguration",
    ]
    resources = ["arn:${local.partition}:s3:::${var.name_prefix}-config-*"]
  }
}

resource "aws_iam_role" "github" {
  for_each = local.github_enabled ? {
    plan   = local.github_plan_role_name
    deploy = local.github_deploy_role_name
  } : {}

  name                 = each.value
  description          = "GitHub Actions ${each.key} role of ${var.github_repository}"
  assume_role_policy   = data.aws_iam_policy_document.github_trust[each.key].json
  max_session_duration = 3600
}

resource "aws_iam_role_policy" "github_read" {
  for_each = aws_iam_role.github

  name   = "read-stack"
  role   = each.value.id
  policy = data.aws_iam_policy_document.github_read[0].json
}

resource "aws_iam_role_policy" "github_deploy" {
  count = local.github_enabled ? 1 : 0

  name   = "deploy-stack"
  role   = aws_iam_role.github["deploy"].id
  policy = data.aws_iam_policy_document.github_deploy[0].json
}
