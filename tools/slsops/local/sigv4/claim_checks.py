"""Whether a readable claim may be honoured: its scope, then its time.

A claim scoped to another region, service or day, or signed outside the allowed clock skew
(a presigned URL: past its expiry), is refused before any key is looked up.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from slsops.local.sigv4.claim import AMZ_DATE_FORMAT, Claim
from slsops.local.sigv4.refusals import AuthResult, refuse

ALLOWED_SKEW = timedelta(minutes=5)


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(AMZ_DATE_FORMAT)


def scope_refusal(claim: Claim, region: str | None, service: str) -> AuthResult | None:
    if "host" not in claim.signed_headers:
        return refuse(
            "IncompleteSignatureException",
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        )
    if claim.date != claim.amz_date[:8]:
        return refuse(
            "InvalidSignatureException",
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
            f"HTTP: '{claim.date}' != '{claim.amz_date[:8]}', from '{claim.amz_date}'.",
        )
    if region is not None and claim.region != region:
        return refuse(
            "InvalidSignatureException",
            f"Credential should be scoped to a valid region, not '{claim.region}'. ",
        )
    if claim.service != service:
        return refuse(
            "InvalidSignatureException",
            f"Credential should be scoped to correct service: '{service}'. ",
        )
    if claim.terminator != "aws4_request":
        return refuse(
            "InvalidSignatureException",
            "Credential should be scoped with a valid terminator: 'aws4_request', "
            f"not '{claim.terminator}'. ",
        )
    return None


def time_refusal(claim: Claim, current: datetime) -> AuthResult | None:
    """Header signatures live 5 minutes either way; presigned URLs until X-Amz-Expires."""
    if claim.moment > current + ALLOWED_SKEW:
        return refuse(
            "InvalidSignatureException",
            f"Signature not yet current: {claim.amz_date} is still later than "
            f"{stamp(current + ALLOWED_SKEW)} ({stamp(current)} + 5 min.)",
        )
    if claim.expires is not None:
        if current > claim.moment + timedelta(seconds=claim.expires):
            return refuse(
                "InvalidSignatureException",
                f"Signature expired: {claim.amz_date} is now earlier than {stamp(current)} "
                f"({claim.amz_date} + {claim.expires} sec.)",
            )
        return None
    if claim.moment < current - ALLOWED_SKEW:
        return refuse(
            "InvalidSignatureException",
            f"Signature expired: {claim.amz_date} is now earlier than "
            f"{stamp(current - ALLOWED_SKEW)} ({stamp(current)} - 5 min.)",
        )
    return None
