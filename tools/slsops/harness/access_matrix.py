"""Who gets through the API: every role x method x kind of credentials, expected vs answered.

Kinds: ``valid`` (the role's own signature: allowed exactly where the contract says),
``tampered`` (one hex digit of the signature changed), ``stale`` (signed 15 minutes ago:
beyond SigV4's 5-minute window, what an expired signature looks like), and, once per method,
``unsigned`` and ``foreign`` (an access key no account of the deployment knows: how another
account's credentials look to it). Every request that must be refused carries a fresh log_id;
after the probe the table is read for those log_ids, so a refused request that still wrote is
caught even if the answer looked right.

Used by ``nox -s reliability`` (figures: unauthorised requests attempted vs let through) and by
``tests/test_security_matrix.py``. The API calls and the deliberately broken signatures are
``slsops.deployment.api_client``'s (the same ones ``slsops roles`` uses).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from log_service import keys
from slsops import contract
from slsops.deployment.api_client import LogApiClient, Signing, assume_role, foreign_credentials
from slsops.deployment.stack import Stack

SIGNED_KINDS = {"valid": Signing.VALID, "tampered": Signing.TAMPERED, "stale": Signing.STALE}
PROBE_SERVICE = "slsops-access-probe"


@dataclass
class Attempt:
    role: str
    method: str
    kind: str
    expected: str  # "allow" | "deny"
    status: int
    log_id: str | None = None

    @property
    def let_through(self) -> bool:
        return self.expected == "deny" and self.status != 403

    @property
    def wrongly_refused(self) -> bool:
        return self.expected == "allow" and not 200 <= self.status < 300


@dataclass
class MatrixResult:
    attempts: list[Attempt] = field(default_factory=list)
    written_by_refused: list[str] = field(default_factory=list)

    @property
    def unauthorised(self) -> list[Attempt]:
        return [a for a in self.attempts if a.expected == "deny"]

    @property
    def let_through(self) -> list[Attempt]:
        return [a for a in self.attempts if a.let_through]

    @property
    def wrongly_refused(self) -> list[Attempt]:
        return [a for a in self.attempts if a.wrongly_refused]

    @property
    def ok(self) -> bool:
        return not (self.let_through or self.wrongly_refused or self.written_by_refused)

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                "role": a.role,
                "method": a.method,
                "credentials": a.kind,
                "expected": a.expected,
                "status": a.status,
            }
            for a in self.attempts
        ]


def _send(api: LogApiClient, method: str) -> tuple[int, str | None]:
    if method == "POST":
        log_id = f"probe-{uuid.uuid4().hex}"
        entry = {
            "service_name": PROBE_SERVICE,
            "level": "INFO",
            "message": "access matrix probe",
            "log_id": log_id,
            "retention_days": 1,
        }
        return api.post_logs(entry).status_code, log_id
    return api.get_recent(service_name=PROBE_SERVICE, limit=1).status_code, None


def probe(stack: Stack) -> MatrixResult:
    """Send every combination once; see the module docstring."""
    result = MatrixResult()
    for role, spec in contract.CLIENT_ROLES.items():
        credentials = assume_role(stack, role, session_name=f"slsops-matrix-{role}")
        for kind, signing in SIGNED_KINDS.items():
            with LogApiClient(stack, credentials, signing=signing) as api:
                for method, path in contract.ROUTES:
                    allowed = kind == "valid" and spec.allows_api(method, path)
                    status, log_id = _send(api, method)
                    expected = "allow" if allowed else "deny"
                    result.attempts.append(Attempt(role, method, kind, expected, status, log_id))
    for kind, credentials in (("unsigned", None), ("foreign", foreign_credentials())):
        with LogApiClient(stack, credentials) as api:
            for method, _path in contract.ROUTES:
                status, log_id = _send(api, method)
                result.attempts.append(Attempt("-", method, kind, "deny", status, log_id))
    table = stack.resource("dynamodb").Table(str(stack["table_name"]))
    for attempt in result.unauthorised:
        if attempt.log_id is None:
            continue
        marker = table.get_item(Key=keys.marker_key(attempt.log_id), ConsistentRead=True)
        if "Item" in marker:
            result.written_by_refused.append(attempt.log_id)
    return result
