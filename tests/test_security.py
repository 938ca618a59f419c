"""Nobody let in, no secret printed, no expression built from input, every S ignore justified.

* The access matrix (``slsops.harness.access_matrix``): every role x method x kind of credentials
  (right role, wrong role, unsigned, tampered signature, stale signature = expired, unknown
  access key = another account) through the API Gateway emulator; the refused ones wrote
  nothing.
* Secrets: the toolkit's reports, stdout and stderr (also of a run with bad credentials), and
  the local stack's own logs (runner and function logs) are grepped for the secrets in play:
  the operator's secret key, the roles' secret keys and session tokens, any session token moto
  issues (they share a prefix) and any SigV4 signature. Terraform's state is not grepped: it
  holds sensitive values by design and is readable by its owner only.
* DynamoDB expressions in ``service/`` and ``tools/`` are string constants or boto3 condition
  objects: never f-strings, concatenation, ``%`` or ``.format``/``.join`` of input.
* Every ``# noqa: S...`` in the repository says why.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from moto.sts.utils import SESSION_TOKEN_PREFIX

from slsops.deployment.api_client import LogApiClient, Signing, assume_role
from slsops.harness import access_matrix
from slsops.local import stack_file

ROOT = Path(__file__).resolve().parents[1]
CLI = (sys.executable, "-m", "slsops.cli")
SIGNATURE = re.compile(r"Signature=[0-9a-f]{64}")
EXPRESSION_ARGUMENTS = {
    "KeyConditionExpression",
    "FilterExpression",
    "ConditionExpression",
    "UpdateExpression",
    "ProjectionExpression",
}


# ------------------------------------------------------------------------------ access matrix


@pytest.mark.stack
@pytest.mark.timeout(600)
def test_access_matrix_holds_for_every_role_method_and_credential_kind(local_stack):
    result = access_matrix.probe(local_stack)
    combos = {(a.role, a.method, a.kind) for a in result.attempts}
    assert len(combos) == len(result.attempts) == 3 * 2 * 3 + 2 * 2
    kinds = {a.kind for a in result.attempts}
    assert kinds == {"valid", "tampered", "stale", "unsigned", "foreign"}
    # Right role: served; wrong role and every broken credential: 403.
    served = {(a.role, a.method) for a in result.attempts if a.expected == "allow"}
    assert served == {("ingest", "POST"), ("read", "GET"), ("full", "POST"), ("full", "GET")}
    assert len(result.unauthorised) == 18
    assert [a.__dict__ for a in result.let_through] == []
    assert [a.__dict__ for a in result.wrongly_refused] == []
    assert result.written_by_refused == []


# ------------------------------------------------------------------------------ secrets


def _run(argv, **kwargs):
    return subprocess.run(  # noqa: S603  our own CLI, argv list, no shell
        [*CLI, *argv], capture_output=True, text=True, timeout=600, check=False, **kwargs
    )


@pytest.mark.stack
@pytest.mark.timeout(900)
def test_no_secret_appears_in_reports_output_or_logs(local_stack, tmp_path):
    creds = local_stack.get("local_credentials")
    secrets = {"operator secret key": creds["secret_access_key"]}
    roles = {role: assume_role(local_stack, role) for role in ("ingest", "read", "full")}
    for role, session in roles.items():
        secrets[f"{role} secret key"] = session.secret_key
        secrets[f"{role} session token"] = session.token
        # Traffic with these credentials, good and bad, so they pass through the emulator.
        for signing in (Signing.VALID, Signing.TAMPERED, Signing.STALE):
            with LogApiClient(local_stack, session, signing=signing) as api:
                api.post_logs({"service_name": "secrets-probe", "level": "INFO", "message": "x"})
                api.get_recent(service_name="secrets-probe", limit=1)

    texts: dict[str, str] = {}
    stack = str(local_stack.path)
    for name in ("verify", "roles", "audit"):
        report = tmp_path / f"{name}.json"
        done = _run([name, "--stack", stack, "--format", "json", "--output", str(report)])
        assert done.returncode in (0, 1), f"{name}: {done.stderr[-1000:]}"
        texts[f"{name} report"] = report.read_text()
        texts[f"{name} stdout+stderr"] = done.stdout + done.stderr
    table = _run(["roles", "--stack", stack])
    texts["roles table"] = table.stdout + table.stderr
    # A run with a wrong secret: the error it prints must not echo the secret either.
    wrong = json.loads(local_stack.path.read_text())
    wrong_secret = "WrongSecret" + "x" * 29
    wrong["local_credentials"]["value"]["secret_access_key"] = wrong_secret
    wrong_path = tmp_path / "wrong.json"
    wrong_path.write_text(json.dumps(wrong))
    secrets["wrong secret key"] = wrong_secret
    failed = _run(["roles", "--stack", str(wrong_path), "--format", "json"])
    assert failed.returncode in (1, 3), failed.stderr[-1000:]
    assert "Traceback" not in failed.stderr
    texts["run with a wrong secret"] = failed.stdout + failed.stderr
    workdir = stack_file.workdir_for(local_stack.path)
    for log in [workdir / "runner.log", *sorted((workdir / "logs").rglob("*"))]:
        if log.is_file():
            texts[f"stack log {log.name}"] = log.read_text(errors="replace")
    assert len(texts) >= 8

    leaks = []
    for where, text in texts.items():
        for label, secret in secrets.items():
            if secret and secret in text:
                leaks.append(f"{label} in {where}")
        if SESSION_TOKEN_PREFIX in text:
            leaks.append(f"a session token in {where}")
        if SIGNATURE.search(text):
            leaks.append(f"a SigV4 signature in {where}")
    assert leaks == []


# ------------------------------------------------------------------------------ expressions


def _string_building(node: ast.AST) -> bool:
    """Does this expression build a string from parts (f-string, +, %, .format, .join)?"""
    for child in ast.walk(node):
        if isinstance(child, ast.JoinedStr):
            return True
        if isinstance(child, ast.BinOp) and isinstance(child.op, ast.Add | ast.Mod):
            sides = (child.left, child.right)
            if any(isinstance(s, ast.Constant) and isinstance(s.value, str) for s in sides):
                return True
            if any(isinstance(s, ast.JoinedStr) for s in sides):
                return True
        if (
            isinstance(child, ast.Call)
            and isinstance(child.func, ast.Attribute)
            and child.func.attr in ("format", "join")
        ):
            return True
    return False


def expression_findings(source: str, filename: str) -> list[str]:
    """Expression arguments built as strings, directly or through a local name."""
    tree = ast.parse(source, filename)
    assigned: dict[str, list[ast.AST]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    assigned.setdefault(target.id, []).append(node.value)
    findings = []
    for node in ast.walk(tree):
        pairs = []
        if isinstance(node, ast.Call):
            pairs = [(k.arg, k.value) for k in node.keywords if k.arg in EXPRESSION_ARGUMENTS]
        elif isinstance(node, ast.Dict):
            pairs = [
                (k.value, v)
                for k, v in zip(node.keys, node.values, strict=True)
                if isinstance(k, ast.Constant) and k.value in EXPRESSION_ARGUMENTS
            ]
        for name, value in pairs:
            sources = [value]
            if isinstance(value, ast.Name):
                sources += assigned.get(value.id, [])
            if any(_string_building(s) for s in sources):
                findings.append(f"{filename}:{node.lineno}: {name} is built as a string")
    return findings


def test_the_expression_scanner_catches_built_strings():
    bad = (
        "def f(table, name):\n"
        "    table.query(KeyConditionExpression=f'pk = {name}')\n"
        "    cond = 'attribute_not_exists(' + name + ')'\n"
        "    table.put_item(Item={}, ConditionExpression=cond)\n"
        "    kwargs = {'FilterExpression': 'level = {}'.format(name)}\n"
    )
    good = (
        "def g(table, key):\n"
        "    table.query(KeyConditionExpression=Key('pk').eq(key))\n"
        "    table.put_item(Item={}, ConditionExpression='attribute_not_exists(#sk)')\n"
    )
    assert len(expression_findings(bad, "bad.py")) == 3
    assert expression_findings(good, "good.py") == []


def test_no_dynamodb_expression_is_built_from_input():
    files = sorted((ROOT / "service").rglob("*.py")) + sorted((ROOT / "tools").rglob("*.py"))
    assert len(files) > 20
    findings = []
    for path in files:
        findings += expression_findings(
            path.read_text(encoding="utf-8"), str(path.relative_to(ROOT))
        )
    assert findings == []


# ------------------------------------------------------------------------------ ruff S


NOQA_S = re.compile(r"#\s*noqa:\s*(?P<codes>S\d+(?:\s*,\s*[A-Z]+\d+)*)(?P<rest>.*)$")


def test_every_security_lint_ignore_is_justified():
    unexplained = []
    for folder in ("service", "tools", "tests", "bench", "loadtests"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                match = NOQA_S.search(line)
                if match and len(re.sub(r"[\s\-:()]", "", match.group("rest"))) < 8:
                    unexplained.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert unexplained == []


# --------------------------------------------------------------------------- the gateway's edge


def _raw_exchange(stack, request: bytes) -> int:
    """Send raw bytes to the stack's API port; the status it answers (0: closed unanswered)."""
    import socket
    from urllib.parse import urlsplit

    port = urlsplit(stack.api_url).port
    with socket.create_connection(("127.0.0.1", port), timeout=60) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0


@pytest.mark.stack
@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        ("Content-Length: abc\r\n", b"{}", 400),
        ("Content-Length: -5\r\n", b"{}", 400),
        ("Content-Length: 99\r\n", b"{}", 408),  # promises more than it sends: read timeout
        ("".join(f"X-Probe-{i}: v\r\n" for i in range(120)), b"", 403),  # many, small: allowed
        ("".join(f"X-Probe-{i}: {'v' * 1000}\r\n" for i in range(11)), b"", 431),
    ],
    ids=["length-abc", "length-negative", "length-over-body", "120-headers", "over-10240-bytes"],
)
def test_malformed_or_oversized_requests_get_the_gateways_4xx(local_stack, headers, body, expected):
    path = f"/{local_stack['stage_name']}/logs"
    request = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}\r\n".encode() + body
    assert _raw_exchange(local_stack, request) == expected


@pytest.mark.stack
def test_a_presigned_url_of_a_role_session_is_accepted(local_stack):
    import requests
    from botocore.auth import SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    creds = assume_role(local_stack, "read")
    request = AWSRequest(
        method="GET", url=f"{local_stack.api_url}/logs/recent", params={"limit": "1"}
    )
    signer = SigV4QueryAuth(
        Credentials(creds.access_key, creds.secret_key, creds.token),
        "execute-api",
        local_stack.region,
        expires=60,
    )
    signer.add_auth(request)
    response = requests.get(request.prepare().url, timeout=60)
    # The gateway verified it and the handler ignores the signature's X-Amz-* parameters.
    assert "x-amzn-ErrorType" not in response.headers, response.text
    assert response.status_code == 200, response.text
    assert isinstance(response.json()["logs"], list)


@pytest.mark.stack
def test_the_embedded_aws_drops_a_client_that_never_sends_its_promised_body(local_stack):
    import socket
    from urllib.parse import urlsplit

    port = urlsplit(local_stack.endpoint_url).port
    with socket.create_connection(("127.0.0.1", port), timeout=90) as conn:
        conn.sendall(
            b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: DynamoDB_20120810.ListTables\r\n"
            b"Content-Length: 100\r\n\r\n{}"
        )
        answer = b""
        while chunk := conn.recv(65536):  # the server's read timeout ends this, not ours
            answer += chunk
    assert not answer.startswith(b"HTTP/1.1 2")


# ------------------------------------------------------------------ path and method spellings

# Spellings of the two routes a router and a policy check could read differently.
READ_SPELLINGS = [
    "/logs/recent/",
    "//logs/recent",
    "/logs//recent",
    "/logs/./recent",
    "/logs/x/../recent",
    "/LOGS/recent",
    "/logs%2Frecent",
    "/logs/%72ecent",
    "/logs/recent%00",
    "/logs/recent;x",
]
WRITE_SPELLINGS = ["/logs/", "//logs", "/./logs", "/x/../logs", "/LOGS", "/%6cogs", "/logs;x"]


def _raw_request(stack, credentials, method: str, path: str, body: bytes | None = None):
    """``method`` on the stage + ``path`` exactly as written (no client normalises it), signed
    with botocore's signer when ``credentials`` are given."""
    import http.client
    from urllib.parse import urlsplit

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    url = urlsplit(stack.api_url)
    headers = {"Host": url.netloc}
    if body is not None:
        headers["Content-Type"] = "application/json"
    if credentials is not None:
        request = AWSRequest(method, f"{stack.api_url}{path}", data=body, headers=headers)
        keys = Credentials(credentials.access_key, credentials.secret_key, credentials.token)
        SigV4Auth(keys, "execute-api", stack.region).add_auth(request)
        headers = dict(request.headers)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        connection.request(method, url.path + path, body=body, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


@pytest.mark.stack
def test_no_spelling_of_a_route_lets_a_role_past_its_policy(local_stack):
    """The ingest role never reads, the read role never writes, unsigned never gets in, however
    the path is spelt: the emulator must route and authorise the same path."""
    entry = json.dumps({"service_name": "spelling", "level": "INFO", "message": "m"}).encode()
    ingest, read = assume_role(local_stack, "ingest"), assume_role(local_stack, "read")
    let_through = []
    for path in READ_SPELLINGS:
        for who, credentials in (("ingest", ingest), ("unsigned", None)):
            status = _raw_request(local_stack, credentials, "GET", path)
            if status < 300:
                let_through.append((who, "GET", path, status))
    for path in WRITE_SPELLINGS:
        for who, credentials in (("read", read), ("unsigned", None)):
            status = _raw_request(local_stack, credentials, "POST", path, entry)
            if status < 300:
                let_through.append((who, "POST", path, status))
    for method in ("PUT", "PATCH", "DELETE"):
        if _raw_request(local_stack, read, method, "/logs", entry) < 300:
            let_through.append(("read", method, "/logs"))
    assert let_through == []
    # The spellings do reach the API: the allowed role is served on the plain path.
    assert _raw_request(local_stack, read, "GET", "/logs/recent") == 200
    assert _raw_request(local_stack, ingest, "POST", "/logs", entry) == 201
