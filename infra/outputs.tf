# Outputs: exactly the names in ../shared INTERFACES.md (slsops reads `terraform output -json`).
#
# External ids are not marked sensitive: they are not secrets (they guard against the
# confused-deputy problem, the trust policy's principal list is the access control), the
# clients need them, and `terraform output -json` prints sensitive values anyway.

output "region" {
  description = "AWS region of the deployment."
  value       = local.region
}

output "account_id" {
  description = "AWS account id of the deployment."
  value       = local.account_id
}

output "api_id" {
  description = "REST API id."
  value       = aws_api_gateway_rest_api.api.id
}

output "stage_name" {
  description = "API stage (the environment)."
  value       = aws_api_gateway_stage.api.stage_name
}

output "api_url" {
  description = "Invoke URL of the stage, without a trailing slash."
  value       = trimsuffix(aws_api_gateway_stage.api.invoke_url, "/")
}

output "table_name" {
  description = "DynamoDB log table."
  value       = aws_dynamodb_table.logs.name
}

output "table_arn" {
  description = "ARN of the log table."
  value       = aws_dynamodb_table.logs.arn
}

output "index_name" {
  description = "The all-services index (GSI on gsi_shard, sk)."
  value       = local.index_name
}

output "shard_count" {
  description = "Partitions of the all-services index (SHARD_COUNT)."
  value       = var.shard_count
}

output "ttl_attribute" {
  description = "TTL attribute of the table (epoch seconds)."
  value       = aws_dynamodb_table.logs.ttl[0].attribute_name
}

output "kms_key_arn" {
  description = "ARN of the customer-managed key."
  value       = aws_kms_key.main.arn
}

output "kms_alias" {
  description = "Alias of the customer-managed key."
  value       = aws_kms_alias.main.name
}

output "ingest_function_name" {
  description = "Ingest Lambda function."
  value       = aws_lambda_function.fn["ingest"].function_name
}

output "read_function_name" {
  description = "Read-recent Lambda function."
  value       = aws_lambda_function.fn["read"].function_name
}

output "roles" {
  description = "Client roles: {ingest|read|full: {arn, external_id}}."
  value = {
    for key, role in aws_iam_role.client : key => {
      arn         = role.arn
      external_id = var.external_ids[key]
    }
  }
}

output "trusted_principal_arns" {
  description = "Principals the client roles trust (the GitHub deploy role included when there is one)."
  value       = local.trusted_principal_arns
}

output "alarm_topic_arn" {
  description = "SNS topic every alarm notifies."
  value       = aws_sns_topic.alarms.arn
}

output "alarm_names" {
  description = "All alarm names (contract order: ingest error rate, read error rate, DynamoDB throttles, API 5xx)."
  value = [
    aws_cloudwatch_metric_alarm.lambda_error_rate["ingest_error_rate"].alarm_name,
    aws_cloudwatch_metric_alarm.lambda_error_rate["read_error_rate"].alarm_name,
    aws_cloudwatch_metric_alarm.dynamodb_throttles.alarm_name,
    aws_cloudwatch_metric_alarm.api_5xx.alarm_name,
  ]
}

output "dashboard_name" {
  description = "CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.main.dashboard_name
}

output "config_rules_enabled" {
  description = "Whether the AWS Config rules were created."
  value       = var.enable_config_rules
}
