# Inputs. Defaults equal tools/slsops/contract.py (tests/test_infra_contract.py checks it).
# Required: trusted_principal_arns and external_ids (no default admits anyone).

variable "region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must look like us-east-1."
  }
}

variable "environment" {
  description = "Deployment environment; the API stage is named after it and every resource name ends with it."
  type        = string
  default     = "prod"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,15}$", var.environment))
    error_message = "environment must be 2-16 lower-case letters or digits, starting with a letter."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
  default     = "simple-log-service"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-32 characters: lower-case letters, digits and hyphens."
  }
}

variable "tags" {
  description = "Extra tags for every resource (added to Project, Environment, ManagedBy)."
  type        = map(string)
  default     = {}
}

variable "lambda_zip_path" {
  description = "The Lambda package built by `nox -s package`; a relative path is relative to infra/."
  type        = string
  default     = "../build/lambda/log_service.zip"

  validation {
    condition     = endswith(var.lambda_zip_path, ".zip")
    error_message = "lambda_zip_path must name a .zip file."
  }
}

variable "api_document_path" {
  description = "The service's OpenAPI document (request validation reads the POST body schema from it); a relative path is relative to infra/."
  type        = string
  default     = "../service/openapi.json"

  validation {
    condition     = endswith(var.api_document_path, ".json")
    error_message = "api_document_path must name a .json file."
  }
}

variable "trusted_principal_arns" {
  description = "IAM users or roles allowed to assume the client roles (with the role's external id). No account roots, no wildcards."
  type        = list(string)

  validation {
    condition     = length(var.trusted_principal_arns) > 0
    error_message = "trusted_principal_arns must name at least one principal."
  }

  validation {
    condition = alltrue([
      for arn in var.trusted_principal_arns :
      can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(user|role)/[A-Za-z0-9+=,.@_/-]+$", arn))
    ])
    error_message = "Each trusted principal must be an IAM user or role ARN (arn:aws:iam::<account>:user/NAME or role/NAME); '*' and account roots are refused because they admit every principal."
  }
}

variable "external_ids" {
  description = "External id each client role requires (sts:ExternalId), keyed ingest, read, full. Not secret, but unguessable values are best (at least 16 characters)."
  type        = map(string)

  validation {
    condition     = length(setsubtract(["ingest", "read", "full"], keys(var.external_ids))) == 0 && length(var.external_ids) == 3
    error_message = "external_ids must have exactly the keys ingest, read and full."
  }

  validation {
    condition     = alltrue([for id in values(var.external_ids) : length(id) >= 16 && length(id) <= 1224 && can(regex("^[A-Za-z0-9+=,.@:/_-]+$", id))])
    error_message = "Each external id must be 16-1224 characters of A-Z a-z 0-9 + = , . @ : / _ -."
  }

  validation {
    condition     = length(distinct(values(var.external_ids))) == length(var.external_ids)
    error_message = "The three external ids must differ."
  }
}

variable "shard_count" {
  description = "Number of partitions of the all-services index (SHARD_COUNT); changing it needs a data migration. Default: log_service.keys.DEFAULT_SHARD_COUNT."
  type        = number
  default     = 8

  validation {
    condition     = var.shard_count >= 1 && var.shard_count <= 256 && floor(var.shard_count) == var.shard_count
    error_message = "shard_count must be a whole number from 1 to 256."
  }
}

variable "retention_days" {
  description = "Days a log entry is kept before DynamoDB TTL expires it (RETENTION_DAYS)."
  type        = number
  default     = 30

  validation {
    condition     = var.retention_days >= 1 && var.retention_days <= 3650
    error_message = "retention_days must be from 1 to 3650."
  }
}

variable "max_clock_skew_seconds" {
  description = "How far in the future a client timestamp may be (MAX_CLOCK_SKEW_SECONDS)."
  type        = number
  default     = 300

  validation {
    condition     = var.max_clock_skew_seconds >= 0 && var.max_clock_skew_seconds <= 86400
    error_message = "max_clock_skew_seconds must be from 0 to 86400."
  }
}

variable "lambda_memory_mb" {
  description = "Memory of each function."
  type        = number
  default     = 256

  validation {
    condition     = var.lambda_memory_mb >= 128 && var.lambda_memory_mb <= 10240
    error_message = "lambda_memory_mb must be from 128 to 10240."
  }
}

variable "lambda_timeout_seconds" {
  description = "Timeout of each function (API Gateway gives up after 29 s)."
  type        = number
  default     = 30

  validation {
    condition     = var.lambda_timeout_seconds >= 1 && var.lambda_timeout_seconds <= 900
    error_message = "lambda_timeout_seconds must be from 1 to 900."
  }
}

variable "lambda_reserved_concurrency" {
  description = "Reserved concurrency of each function."
  type        = number
  default     = 100

  validation {
    condition     = var.lambda_reserved_concurrency >= 1
    error_message = "lambda_reserved_concurrency must be at least 1 (0 would stop the function)."
  }
}

variable "log_retention_days" {
  description = "Retention of the functions' and the API's log groups."
  type        = number
  default     = 7

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, ...)."
  }
}

variable "powertools_log_level" {
  description = "POWERTOOLS_LOG_LEVEL of both functions."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.powertools_log_level)
    error_message = "powertools_log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}

variable "api_throttling_rate_limit" {
  description = "Steady-state requests per second of every API method (stage method settings)."
  type        = number
  default     = 10000

  validation {
    condition     = var.api_throttling_rate_limit > 0
    error_message = "api_throttling_rate_limit must be positive."
  }
}

variable "api_throttling_burst_limit" {
  description = "Burst of every API method (stage method settings)."
  type        = number
  default     = 5000

  validation {
    condition     = var.api_throttling_burst_limit > 0
    error_message = "api_throttling_burst_limit must be positive."
  }
}

variable "enable_deletion_protection" {
  description = "DynamoDB deletion protection on the log table. Keep true outside throwaway stacks."
  type        = bool
  default     = true
}

variable "enable_contributor_insights" {
  description = "DynamoDB contributor insights on the table and index (the local stack turns it off: moto lacks the API)."
  type        = bool
  default     = true
}

variable "enable_config_rules" {
  description = "AWS Config managed rules (PITR, table KMS encryption, Lambda concurrency, log group encryption)."
  type        = bool
  default     = true
}

variable "enable_config_recorder" {
  description = "Create the Config recorder, delivery channel and bucket the rules need on AWS. Set false when the account already has a recorder (one per region) or on the local stack."
  type        = bool
  default     = true
}

variable "enable_apigw_account_role" {
  description = "Set the account-level API Gateway CloudWatch role that access and execution logging need (one per account and region; false if something else manages it)."
  type        = bool
  default     = true
}

variable "alarm_email" {
  description = "Optional e-mail address subscribed to the alarm topic (confirm the subscription mail)."
  type        = string
  default     = ""

  validation {
    condition     = var.alarm_email == "" || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alarm_email))
    error_message = "alarm_email must be empty or an e-mail address."
  }
}

variable "runbook_base_url" {
  description = "Base URL of the runbooks/ folder; each alarm description links to its page there."
  type        = string
  default     = "https://github.com/example/simple-log-service/blob/main/runbooks"

  validation {
    condition     = can(regex("^https?://", var.runbook_base_url)) && !endswith(var.runbook_base_url, "/")
    error_message = "runbook_base_url must be an http(s) URL without a trailing slash."
  }
}

variable "github_repository" {
  description = "owner/name of the GitHub repository that deploys this stack; when set, creates the OIDC plan and deploy roles (github_oidc.tf)."
  type        = string
  default     = ""

  validation {
    condition     = var.github_repository == "" || can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must be empty or owner/name."
  }
}

variable "github_oidc_provider_arn" {
  description = "ARN of an existing token.actions.githubusercontent.com OIDC provider (one per account); empty creates it."
  type        = string
  default     = ""
}

variable "github_environment" {
  description = "GitHub environment whose jobs may assume the deploy role (sub claim repo:OWNER/NAME:environment:THIS)."
  type        = string
  default     = "production"
}

variable "terraform_state_bucket" {
  description = "S3 bucket of the remote state (backend.tf.example); the GitHub roles may read and write only there. Empty: no state permissions."
  type        = string
  default     = ""
}

variable "terraform_lock_table" {
  description = "DynamoDB lock table of the remote state; empty when the backend uses S3 native locking (use_lockfile)."
  type        = string
  default     = ""
}
