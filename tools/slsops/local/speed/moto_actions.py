"""Speed: moto finds the handler method of an action without listing the class's members.

moto 5.2.5's ``BaseResponse.call_action`` asks ``method_names_from_class(self.__class__)``
whether the action is one of the handler's methods, and that lists every member of the class
with ``inspect.getmembers`` on every request. Under the load profile it was the largest single
cost in the local stack's server process (about a sixth of the time it held the GIL).

``inspect.getmembers(cls, inspect.isfunction)`` names exactly the attributes for which
``inspect.isfunction(getattr(cls, name))`` holds, so membership is asked of that attribute
alone; iterating (no caller in moto does) still gives moto's list. Nothing is cached, so a
method added to a handler class later is seen at once.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

from slsops.local.speed.attribute_patch import AttributePatch


class HandlerMethods:
    """The names of ``cls``'s functions, asked one at a time."""

    def __init__(self, cls: type) -> None:
        self.cls = cls

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and inspect.isfunction(getattr(self.cls, name, None))

    def __iter__(self) -> Iterator[str]:
        return iter(name for name, _ in inspect.getmembers(self.cls, inspect.isfunction))


def method_names_from_class(clazz: Any) -> HandlerMethods:
    return HandlerMethods(clazz)


# Where ``BaseResponse.call_action`` looks the name up.
PATCH = AttributePatch("moto.core.responses", "method_names_from_class", method_names_from_class)
install, uninstall = PATCH.install, PATCH.uninstall
