"""Read ``infra/*.tf`` with python-hcl2 into plain Python values the infra tests can compare.

python-hcl2 (8.x) keeps HCL string quotes (``'"abc"'``), quoted block labels and marker keys
(``__is_block__``, ``__comments__``). :func:`load_infra` strips all of that, so a literal is a
plain value and an expression stays ``"${...}"``. :meth:`Infra.resolve` then evaluates the few
expression forms the tests need: ``var.X`` (the variable's default), ``local.X`` (recursively),
``tostring(...)`` and string templates built from those. Anything else is returned unchanged,
so a test comparing it with the contract fails loudly instead of passing by accident.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2

INFRA_DIR = Path(__file__).resolve().parents[1] / "infra"
MARKERS = {"__is_block__", "__start_line__", "__end_line__"}
_REFERENCE = re.compile(r"^\$\{(?P<expr>[^${}]+)\}$")
_TEMPLATE_PART = re.compile(r"\$\{(?P<expr>[^${}]+)\}")


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return text[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return text


def clean(value: Any) -> Any:
    """Strip python-hcl2's quoting and markers (comments are kept under ``__comments__``)."""
    if isinstance(value, dict):
        return {_unquote(k): clean(v) for k, v in value.items() if k not in MARKERS}
    if isinstance(value, list):
        return [clean(v) for v in value]
    if isinstance(value, str):
        return _unquote(value)
    return value


def comments(block: dict[str, Any]) -> list[str]:
    """The comments python-hcl2 attached to a block (e.g. ``#checkov:skip=...``)."""
    return [c["value"] if isinstance(c, dict) else str(c) for c in block.get("__comments__", [])]


@dataclass
class Infra:
    """The parsed configuration: blocks by kind, keyed ``(type, name)`` or by name."""

    resources: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    data: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)

    def resource(self, rtype: str, name: str) -> dict[str, Any]:
        return self.resources[(rtype, name)]

    def resources_of(self, rtype: str) -> dict[str, dict[str, Any]]:
        return {name: body for (t, name), body in self.resources.items() if t == rtype}

    def policy_document(self, name: str) -> dict[str, Any]:
        return self.data[("aws_iam_policy_document", name)]

    def default(self, variable: str) -> Any:
        return self.variables[variable]["default"]

    def resolve(self, value: Any, depth: int = 0) -> Any:
        """Evaluate var./local. references, tostring() and templates of them; else unchanged."""
        if depth > 20:
            raise RecursionError(f"reference loop at {value!r}")
        if isinstance(value, list):
            return [self.resolve(v, depth + 1) for v in value]
        if isinstance(value, dict):
            return {k: self.resolve(v, depth + 1) for k, v in value.items()}
        if not isinstance(value, str) or "${" not in value:
            return value
        whole = _REFERENCE.match(value)
        if whole:
            return self._evaluate(whole.group("expr").strip(), value, depth)
        return _TEMPLATE_PART.sub(
            lambda m: str(self._evaluate(m.group("expr").strip(), m.group(0), depth)), value
        )

    def _evaluate(self, expr: str, original: str, depth: int) -> Any:
        call = re.fullmatch(r"tostring\((?P<inner>[^()]+)\)", expr)
        if call:
            inner = self._evaluate(call.group("inner").strip(), original, depth)
            return str(inner).lower() if isinstance(inner, bool) else str(inner)
        path = re.fullmatch(r"(var|local)\.([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+)*)", expr)
        if not path:
            return original
        kind, name, rest = path.groups()
        if kind == "var":
            if name not in self.variables or "default" not in self.variables[name]:
                return original
            value = self.variables[name]["default"]
        else:
            if name not in self.locals:
                return original
            value = self.resolve(self.locals[name], depth + 1)
        for part in filter(None, rest.split(".")):
            if not isinstance(value, dict) or part not in value:
                return original
            value = value[part]
        return self.resolve(value, depth + 1)


def _keep_comments(raw: dict[str, Any]) -> dict[str, Any]:
    body = clean(raw)
    if "__comments__" in raw:
        body["__comments__"] = raw["__comments__"]
    return body


def load_infra(folder: Path = INFRA_DIR) -> Infra:
    """Parse every ``*.tf`` in ``folder`` (not the ``*_override.tf`` the local stack adds)."""
    infra = Infra()
    for path in sorted(folder.glob("*.tf")):
        if path.name.endswith("_override.tf"):
            continue
        text = path.read_text()
        infra.texts[path.name] = text
        parsed = hcl2.loads(text)
        for block in parsed.get("resource", []):
            for rtype, named in block.items():
                for name, body in named.items():
                    infra.resources[(_unquote(rtype), _unquote(name))] = _keep_comments(body)
        for block in parsed.get("data", []):
            for dtype, named in block.items():
                for name, body in named.items():
                    infra.data[(_unquote(dtype), _unquote(name))] = _keep_comments(body)
        for block in parsed.get("variable", []):
            for name, body in block.items():
                infra.variables[_unquote(name)] = clean(body)
        for block in parsed.get("locals", []):
            infra.locals.update(clean(block))
        for block in parsed.get("output", []):
            for name, body in block.items():
                infra.outputs[_unquote(name)] = clean(body)
    return infra


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    """All statements of an aws_iam_policy_document, static and ``dynamic "statement"``."""
    found = list(document.get("statement", []))
    for dynamic in document.get("dynamic", []):
        for label, body in dynamic.items():
            if label == "statement":
                found.extend(body.get("content", []))
    return found
