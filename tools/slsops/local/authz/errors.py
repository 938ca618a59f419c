"""AWS's refusals, shaped for the protocol of the service that refuses.

botocore reads an error from where each protocol puts it: an XML ``ErrorResponse`` for the
query protocol (STS, IAM, SNS), ``__type`` in a JSON body for the JSON protocols (DynamoDB,
KMS, Logs), the ``x-amzn-ErrorType`` header for REST-JSON (Lambda, API Gateway). Answering in
the right shape makes boto3 raise the same ``ClientError`` code as on AWS.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from xml.sax.saxutils import escape

_REASONS = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    413: "Payload Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
}
_XML_NAMESPACES = {
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
    "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
}
# A JSON service names the same failure differently from a query service.
_JSON_CODES = {
    "InvalidClientTokenId": "UnrecognizedClientException",
    "SignatureDoesNotMatch": "InvalidSignatureException",
    "ExpiredToken": "ExpiredTokenException",
    "AccessDenied": "AccessDeniedException",
    "MissingAuthenticationToken": "MissingAuthenticationTokenException",
    "IncompleteSignature": "IncompleteSignatureException",
    "ValidationError": "ValidationException",
}


@dataclass(frozen=True)
class Refusal:
    """One refusal: status, AWS's error code (query-protocol spelling) and message."""

    status: int
    code: str
    message: str

    def render(
        self, protocol: str, service: str = "", query_compatible: bool = False
    ) -> tuple[str, list[tuple[str, str]], bytes]:
        """(status line, headers, body) in the shape botocore expects for ``protocol``.

        A query-compatible JSON service (CloudWatch) names its errors as the query protocol did.
        """
        request_id = str(uuid.uuid4())
        status_line = f"{self.status} {_REASONS.get(self.status, 'Error')}"
        if protocol in ("json", "rest-json"):
            code = _JSON_CODES.get(self.code, self.code)
            body = json.dumps({"__type": code, "message": self.message, "Message": self.message})
            headers = [
                ("Content-Type", "application/x-amz-json-1.1"),
                ("x-amzn-ErrorType", code),
                ("x-amzn-RequestId", request_id),
            ]
            if query_compatible:
                headers.append(("x-amzn-query-error", f"{self.code};Sender"))
            payload = body.encode()
        elif protocol == "smithy-rpc-v2-cbor":
            code = _JSON_CODES.get(self.code, self.code)
            payload = _cbor_text_map({"__type": code, "message": self.message})
            headers = [
                ("Content-Type", "application/cbor"),
                ("smithy-protocol", "rpc-v2-cbor"),
                ("x-amzn-query-error", f"{self.code};Sender"),
            ]
        else:
            namespace = _XML_NAMESPACES.get(service, "")
            xmlns = f' xmlns="{namespace}"' if namespace else ""
            payload = (
                f"<ErrorResponse{xmlns}><Error><Type>Sender</Type>"
                f"<Code>{escape(self.code)}</Code><Message>{escape(self.message)}</Message>"
                f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
            ).encode()
            headers = [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)]
        headers.append(("Content-Length", str(len(payload))))
        return status_line, headers, payload


def _cbor_text(text: str) -> bytes:
    """A CBOR text string (major type 3) with its length header."""
    data = text.encode()
    size = len(data)
    if size < 24:
        return bytes([0x60 + size]) + data
    if size < 256:
        return bytes([0x78, size]) + data
    return bytes([0x79]) + size.to_bytes(2, "big") + data[:65535]


def _cbor_text_map(fields: dict[str, str]) -> bytes:
    """A small CBOR map of text to text (major type 5): the error body of RPC v2 CBOR services."""
    encoded = b"".join(_cbor_text(k) + _cbor_text(v) for k, v in fields.items())
    return bytes([0xA0 + len(fields)]) + encoded


def access_denied(principal_arn: str, action: str, resource: str, explicit: bool) -> Refusal:
    """IAM's AccessDenied message: who, which action, which resource, and why."""
    reason = (
        "with an explicit deny in an identity-based policy"
        if explicit
        else "because no identity-based policy allows the " + action + " action"
    )
    return Refusal(
        403,
        "AccessDenied",
        f"User: {principal_arn} is not authorized to perform: {action} on resource: "
        f"{resource} {reason}",
    )


def validation(message: str) -> Refusal:
    return Refusal(400, "ValidationError", message)
