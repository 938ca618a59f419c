# Names and shared values. Resource names follow tools/slsops/contract.py (Names):
# "<name_prefix>-<what>-<environment>".

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name
  partition  = data.aws_partition.current.partition

  base_name = "${var.name_prefix}-${var.environment}"

  table_name           = "${var.name_prefix}-logs-${var.environment}"
  index_name           = "all-services-newest"
  ttl_attribute        = "expires_at"
  api_name             = local.base_name
  kms_alias            = "alias/${local.base_name}"
  alarm_topic_name     = "${var.name_prefix}-alarms-${var.environment}"
  dashboard_name       = local.base_name
  api_access_log_group = "/aws/apigateway/${local.base_name}"

  # The Lambda zip built by `nox -s package` (tools/slsops/packaging.py).
  lambda_zip_path = abspath(startswith(var.lambda_zip_path, "/") ? var.lambda_zip_path : "${path.module}/${var.lambda_zip_path}")

  # The API document (service/openapi.json) the request validation is built from.
  api_document_path = abspath(startswith(var.api_document_path, "/") ? var.api_document_path : "${path.module}/${var.api_document_path}")

  tags = merge(
    {
      Project     = var.name_prefix
      Environment = var.environment
      ManagedBy   = "terraform"
    },
    var.tags,
  )
}
