# The log table (key scheme: service/log_service/keys.py; contract: TableContract).

resource "aws_dynamodb_table" "logs" {
  name                        = local.table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "service_name"
  range_key                   = "sk"
  deletion_protection_enabled = var.enable_deletion_protection

  attribute {
    name = "service_name"
    type = "S"
  }

  attribute {
    name = "sk"
    type = "S"
  }

  attribute {
    name = "gsi_shard"
    type = "N"
  }

  # The all-services index: newest entries across services, spread over shard_count partitions.
  global_secondary_index {
    name            = local.index_name
    hash_key        = "gsi_shard"
    range_key       = "sk"
    projection_type = "ALL"
  }

  ttl {
    attribute_name = local.ttl_attribute
    enabled        = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.main.arn
  }

  point_in_time_recovery {
    enabled = true
  }
}

# Hot partition keys at a glance; AWS only (moto has no contributor-insights API).
resource "aws_dynamodb_contributor_insights" "table" {
  count      = var.enable_contributor_insights ? 1 : 0
  table_name = aws_dynamodb_table.logs.name
}

resource "aws_dynamodb_contributor_insights" "index" {
  count      = var.enable_contributor_insights ? 1 : 0
  table_name = aws_dynamodb_table.logs.name
  index_name = local.index_name
}
