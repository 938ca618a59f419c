"""Check framework: a check is a small unit with an id, a title, a severity and a result.

Checks live grouped by resource family, one module each (``checks/dynamodb.py`` ...);
running them (``runner``) and writing results (``report``, ``formats``) are separate.
"""

from slsops.checks.model import Check, CheckResult, Severity, Status

__all__ = ["Check", "CheckResult", "Severity", "Status"]
