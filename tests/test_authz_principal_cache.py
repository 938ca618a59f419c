"""The authorisation layer's principal cache never keeps a principal read before an IAM write."""

from __future__ import annotations

from slsops.local import identity
from slsops.local.authz.principals import PrincipalCache
from slsops.local.identity import USER, Principal


def _principal(secret: str) -> Principal:
    return Principal(
        arn="arn:aws:iam::123456789012:user/alice",
        account_id="123456789012",
        kind=USER,
        access_key_id="AKIAALICE00000000001",
        secret_access_key=secret,
    )


def test_a_principal_resolved_across_an_iam_write_is_not_cached(monkeypatch):
    """A request resolves a key, an IAM write (the key deactivated) lands and invalidates the
    cache meanwhile, then the request stores what it read before the write: the next request
    must resolve again, not authenticate with the key the write deactivated."""
    cache = PrincipalCache()
    state = {"active": True}

    def resolve_during_a_write(access_key_id: str) -> Principal | None:
        read = _principal("secret") if state["active"] else None
        state["active"] = False  # the concurrent UpdateAccessKey Status=Inactive
        cache.invalidate()  # ... and its note_call, before this lookup stores its result
        return read

    monkeypatch.setattr(identity, "resolve", resolve_during_a_write)
    assert cache.lookup("AKIAALICE00000000001") is not None  # read before the write
    assert cache.lookup("AKIAALICE00000000001") is None


def test_a_resolved_principal_is_cached_until_an_iam_write(monkeypatch):
    cache = PrincipalCache()
    calls = []

    def resolve(access_key_id: str) -> Principal:
        calls.append(access_key_id)
        return _principal("secret")

    monkeypatch.setattr(identity, "resolve", resolve)
    first = cache.lookup("AKIAALICE00000000001")
    assert cache.lookup("AKIAALICE00000000001") is first
    assert len(calls) == 1
    cache.note_call("iam", "UpdateAccessKey")
    assert cache.lookup("AKIAALICE00000000001") is not first
    assert len(calls) == 2
