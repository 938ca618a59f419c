"""IAM decisions remembered per principal, for as long as nothing they were made from changes.

Every DynamoDB call of a Lambda worker is authorised twice over: the caller's identity
policies for the call's action, and the table's KMS key policy (with the caller's policies when
the key delegates to IAM). The answer only changes when a policy does, yet evaluating it was
about a tenth of the embedded AWS's time under load. So a decision is remembered, and reused
only while all of these hold:

- the principal is the same object: the authorisation layer's ``PrincipalCache`` builds a new
  one after any IAM write (policy, attachment, boundary, key status, group membership), so a
  remembered decision never outlives the policies it read;
- every other document it read (a key policy) is the same text, which is part of the key;
- no document it read names a time key (``aws:CurrentTime``, ``aws:EpochTime``,
  ``aws:TokenIssueTime``, ``aws:MultiFactorAuthAge``), in a condition or as a policy variable:
  such decisions are made anew each time.

Everything else a decision reads is in the key given by the caller (action, resource, extra
request context). Authentication (signature, session expiry) is never cached.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any, TypeVar

from slsops.iam.documents import PolicyError, load_policy

T = TypeVar("T")

TIME_KEYS = frozenset(
    {"aws:currenttime", "aws:epochtime", "aws:tokenissuetime", "aws:multifactorauthage"}
)
MAX_ENTRIES = 4096  # dropped all at once when full: a handful of principals use a stack


def mentions_time(documents: Iterable[Any]) -> bool:
    """Does any of these documents name a time key, in a condition or as a policy variable
    (``${aws:EpochTime}`` in a resource)? True for an unreadable one."""
    for document in documents:
        if document is None:
            continue
        try:
            policy = load_policy(dict(document) if isinstance(document, Mapping) else document)
        except (PolicyError, TypeError, ValueError):
            return True
        text = json.dumps(policy, default=str).lower()
        if any(key in text for key in TIME_KEYS):
            return True
    return False


def principal_documents(principal: Any) -> list[Any]:
    """Every policy document that can decide for ``principal`` (identity, boundary, session)."""
    documents = list((principal.policies or {}).values())
    documents.append(principal.permissions_boundary)
    documents.extend((principal.session_policies or {}).values())
    return documents


class DecisionCache:
    """Remembered decisions, each tied to the principal object it was made for."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: dict[tuple[Hashable, ...], tuple[Any, Any]] = {}
        self._timeless_principals: dict[int, tuple[Any, bool]] = {}
        self._timeless_texts: dict[str, bool] = {}
        self._lock = threading.Lock()

    def decide(
        self,
        principal: Any,
        key: tuple[Hashable, ...],
        compute: Callable[[], T],
        other_documents: tuple[str, ...] = (),
    ) -> T:
        """``compute()``'s answer for ``principal`` and ``key``, remembered when it may be.

        ``key`` must hold everything besides the principal's policies and the time that the
        decision reads, including the texts in ``other_documents``.
        """
        full_key = (id(principal), *key)
        entry = self._entries.get(full_key)
        if entry is not None and entry[0] is principal:
            return entry[1]
        value = compute()
        if self._timeless(principal) and all(self._timeless_text(t) for t in other_documents):
            with self._lock:
                if len(self._entries) >= self.max_entries:
                    self._entries.clear()
                    self._timeless_principals.clear()
                    self._timeless_texts.clear()
                # The entry holds the principal: its id cannot be reused while it is here.
                self._entries[full_key] = (principal, value)
        return value

    def _timeless(self, principal: Any) -> bool:
        known = self._timeless_principals.get(id(principal))
        if known is not None and known[0] is principal:
            return known[1]
        timeless = not mentions_time(principal_documents(principal))
        self._timeless_principals[id(principal)] = (principal, timeless)
        return timeless

    def _timeless_text(self, text: str) -> bool:
        known = self._timeless_texts.get(text)
        if known is None:
            known = self._timeless_texts[text] = not mentions_time([text])
        return known


# The decisions of this process's authorisation layer: they are tied to the principals of its
# PrincipalCache (``principals.SHARED``), which alone are replaced on IAM writes.
SHARED = DecisionCache()
