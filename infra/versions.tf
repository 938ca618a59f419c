# Terraform and provider requirements, and the one provider configuration.
#
# The configuration names no endpoints: the local stack applies a copy of this folder with
# generated *_override.tf files (endpoints, test credentials, skip flags, local backend).

terraform {
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.70, < 6.0"
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = local.tags
  }
}
