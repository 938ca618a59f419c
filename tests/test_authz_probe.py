"""The probe set (``slsops.local.authz.probe``): behind the layer nothing gets through, nothing
AWS allows is refused; against bare moto the same probes do get through (so they can fail)."""

from __future__ import annotations

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from slsops.local.authz.layer import AuthorizationLayer
from slsops.local.authz.probe import count, run_probes
from slsops.local.aws_app import serve_in_thread
from slsops.local.gaps import wrap_all
from slsops.local.operator import create_admin


def test_behind_the_layer_no_probe_gets_through_and_none_is_falsely_denied() -> None:
    admin = create_admin().boto3_kwargs()
    app = AuthorizationLayer(wrap_all(DomainDispatcherApplication(create_backend_app)))
    with serve_in_thread(app) as endpoint:
        results = run_probes(endpoint, admin)
    assert [r.name for r in results if r.let_through] == []
    assert [r.name for r in results if r.false_deny] == []
    assert count(results)["probes"] >= 35


def test_without_the_layer_the_probes_get_through() -> None:
    admin = create_admin().boto3_kwargs()
    with serve_in_thread(wrap_all(DomainDispatcherApplication(create_backend_app))) as endpoint:
        results = run_probes(endpoint, admin)
    through = {r.name for r in results if r.let_through}
    assert {
        "assume without external id",
        "assume with unknown key",
        "web identity, junk token, unsigned",
        "read role writes its own policy",
        "unknown key writes the table",
        "managed session policy limits the session",
    } <= through
    assert count(results)["false_deny"] == 0
