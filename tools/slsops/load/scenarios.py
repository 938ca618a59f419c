"""Which request kinds a scenario selection makes, read from the locustfile without Locust.

The gate must say before a run which gated targets a narrowed selection (``--tags read``,
``--classes NewestReadUser``) cannot measure. Locust's gevent patches the process that imports
it, so the locustfile is read as source: a user class's tasks are its methods decorated with
``@task``, their tags come from ``@tag(...)``, and a task makes the request kinds whose
methods it calls (``self.ingest_single()`` makes ``ingest_single`` requests: the scenario
methods are named after :data:`slsops.load.measurements.KINDS`).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from slsops.load.measurements import KINDS_BY_ID


@dataclass(frozen=True)
class Task:
    tags: frozenset[str]
    kinds: frozenset[str]


def _is_abstract(node: ast.ClassDef) -> bool:
    return any(
        isinstance(item, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "abstract" for t in item.targets)
        and isinstance(item.value, ast.Constant)
        and item.value.value is True
        for item in node.body
    )


def _decorator_name(node: ast.expr) -> str:
    target = node.func if isinstance(node, ast.Call) else node
    if isinstance(target, ast.Attribute):
        return target.attr
    return target.id if isinstance(target, ast.Name) else ""


def _task_of(function: ast.FunctionDef) -> Task | None:
    names = [_decorator_name(d) for d in function.decorator_list]
    if "task" not in names:
        return None
    tags = {
        arg.value
        for d in function.decorator_list
        if isinstance(d, ast.Call) and _decorator_name(d) == "tag"
        for arg in d.args
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
    }
    kinds = {
        node.func.attr
        for node in ast.walk(function)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "self"
        and node.func.attr in KINDS_BY_ID
    }
    return Task(frozenset(tags), frozenset(kinds))


def user_classes(locustfile: Path) -> dict[str, list[Task]]:
    """Every non-abstract user class of the locustfile and its tasks."""
    tree = ast.parse(Path(locustfile).read_text(encoding="utf-8"))
    classes = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef) or not node.bases or _is_abstract(node):
            continue
        tasks = [
            task
            for item in node.body
            if isinstance(item, ast.FunctionDef) and (task := _task_of(item)) is not None
        ]
        classes[node.name] = tasks
    return classes


def kinds_made(
    classes: dict[str, list[Task]], chosen: tuple[str, ...], tags: tuple[str, ...]
) -> set[str]:
    """Request kinds the run makes: the chosen classes (all when none), tasks with a tag."""
    names = chosen or tuple(classes)
    wanted = set(tags)
    return {
        kind
        for name in names
        for task in classes.get(name, [])
        if not wanted or task.tags & wanted
        for kind in task.kinds
    }


def selection_text(classes: tuple[str, ...], tags: tuple[str, ...]) -> str:
    """``--tags read --classes X`` as given; empty when nothing was narrowed."""
    parts = []
    if tags:
        parts.append(f"--tags {','.join(tags)}")
    if classes:
        parts.append(f"--classes {','.join(classes)}")
    return " ".join(parts)
