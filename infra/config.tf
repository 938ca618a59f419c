# AWS Config: managed rules for PITR, table KMS encryption, Lambda concurrency and log group
# encryption (var.enable_config_rules), and the recorder the rules need on AWS
# (var.enable_config_recorder; one per account and region, so turn it off where the account
# already records, e.g. under Control Tower). The recorder records only the resource types the
# rules evaluate and delivers to a bucket of its own, encrypted with the CMK.

locals {
  config_rules = {
    dynamodb_pitr = {
      name_middle    = "dynamodb-pitr"
      identifier     = "DYNAMODB_PITR_ENABLED"
      resource_types = ["AWS::DynamoDB::Table"]
      parameters     = {}
    }
    dynamodb_kms = {
      name_middle    = "dynamodb-kms"
      identifier     = "DYNAMODB_TABLE_ENCRYPTED_KMS"
      resource_types = ["AWS::DynamoDB::Table"]
      parameters     = { kmsKeyArns = aws_kms_key.main.arn }
    }
    lambda_concurrency = {
      name_middle    = "lambda-concurrency"
      identifier     = "LAMBDA_CONCURRENCY_CHECK"
      resource_types = ["AWS::Lambda::Function"]
      parameters     = {}
    }
    log_group_encrypted = {
      name_middle    = "log-group-encrypted"
      identifier     = "CLOUDWATCH_LOG_GROUP_ENCRYPTED"
      resource_types = [] # a periodic rule: it lists log groups itself, no recording needed
      parameters     = {}
    }
  }

  # What the change-triggered rules evaluate (the log group rule is periodic).
  config_recorded_types = ["AWS::DynamoDB::Table", "AWS::Lambda::Function"]
}

resource "aws_config_config_rule" "rule" {
  for_each = var.enable_config_rules ? local.config_rules : {}

  name             = "${var.name_prefix}-${each.value.name_middle}-${var.environment}"
  input_parameters = length(each.value.parameters) > 0 ? jsonencode(each.value.parameters) : null

  source {
    owner             = "AWS"
    source_identifier = each.value.identifier
  }

  dynamic "scope" {
    for_each = length(each.value.resource_types) > 0 ? [1] : []

    content {
      compliance_resource_types = each.value.resource_types
    }
  }

  depends_on = [aws_config_configuration_recorder_status.main]
}

# --- Recorder ----------------------------------------------------------------------------------

data "aws_iam_policy_document" "config_trust" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["config.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "config" {
  count = var.enable_config_recorder ? 1 : 0

  name               = "${var.name_prefix}-config-${var.environment}"
  description        = "AWS Config recorder of the Simple Log Service stack"
  assume_role_policy = data.aws_iam_policy_document.config_trust.json
}

resource "aws_iam_role_policy_attachment" "config" {
  count = var.enable_config_recorder ? 1 : 0

  role       = aws_iam_role.config[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AWS_ConfigRole"
}

resource "aws_s3_bucket" "config" {
  count = var.enable_config_recorder ? 1 : 0
  #checkov:skip=CKV_AWS_18:This bucket only receives Config snapshots; access logging it would need another bucket with the same question.
  #checkov:skip=CKV_AWS_144:Config snapshots can be re-recorded; cross-region replication is not worth a second bucket here.
  #checkov:skip=CKV2_AWS_62:Nothing consumes events of Config deliveries.

  bucket        = "${var.name_prefix}-config-${var.environment}-${local.account_id}"
  force_destroy = false
}

resource "aws_s3_bucket_public_access_block" "config" {
  count = var.enable_config_recorder ? 1 : 0

  bucket                  = aws_s3_bucket.config[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "config" {
  count = var.enable_config_recorder ? 1 : 0

  bucket = aws_s3_bucket.config[0].id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "config" {
  count = var.enable_config_recorder ? 1 : 0

  bucket = aws_s3_bucket.config[0].id

  rule {
    bucket_key_enabled = true

    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.main.arn
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "config" {
  count = var.enable_config_recorder ? 1 : 0

  bucket = aws_s3_bucket.config[0].id

  rule {
    id     = "expire-old-snapshots"
    status = "Enabled"

    filter {}

    expiration {
      days = 365
    }

    noncurrent_version_expiration {
      noncurrent_days = 30
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

data "aws_iam_policy_document" "config_bucket" {
  count = var.enable_config_recorder ? 1 : 0

  statement {
    sid       = "ConfigChecksBucket"
    effect    = "Allow"
    actions   = ["s3:GetBucketAcl", "s3:ListBucket"]
    resources = [aws_s3_bucket.config[0].arn]

    principals {
      type        = "Service"
      identifiers = ["config.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid       = "ConfigDelivers"
    effect    = "Allow"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.config[0].arn}/AWSLogs/${local.account_id}/Config/*"]

    principals {
      type        = "Service"
      identifiers = ["config.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "s3:x-amz-acl"
      values   = ["bucket-owner-full-control"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.config[0].arn, "${aws_s3_bucket.config[0].arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "config" {
  count = var.enable_config_recorder ? 1 : 0

  bucket = aws_s3_bucket.config[0].id
  policy = data.aws_iam_policy_document.config_bucket[0].json
}

resource "aws_config_configuration_recorder" "main" {
  count = var.enable_config_recorder ? 1 : 0
  #checkov:skip=CKV2_AWS_48:Records only what this stack's rules evaluate; recording every resource type is an account-wide decision (and cost) outside this stack.

  name     = "${var.name_prefix}-${var.environment}"
  role_arn = aws_iam_role.config[0].arn

  recording_group {
    all_supported  = false
    resource_types = local.config_recorded_types
  }
}

resource "aws_config_delivery_channel" "main" {
  count = var.enable_config_recorder ? 1 : 0

  name           = "${var.name_prefix}-${var.environment}"
  s3_bucket_name = aws_s3_bucket.config[0].bucket
  s3_kms_key_arn = aws_kms_key.main.arn

  depends_on = [aws_config_configuration_recorder.main, aws_s3_bucket_policy.config]
}

resource "aws_config_configuration_recorder_status" "main" {
  count = var.enable_config_recorder ? 1 : 0
  #checkov:skip=CKV2_AWS_45:The recorder deliberately records only what this stack's rules evaluate (see the recorder).

  name       = aws_config_configuration_recorder.main[0].name
  is_enabled = true

  depends_on = [aws_config_delivery_channel.main]
}
