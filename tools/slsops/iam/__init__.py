"""IAM policy evaluation shared by the toolkit and the local stack (moto's is too loose)."""

from slsops.iam.evaluator import Decision, evaluate, trust_allows

__all__ = ["Decision", "evaluate", "trust_allows"]
