"""Load scenarios of the Simple Log Service (Locust 2.47).

User classes (choose by class name on the command line, or by tag with ``--tags``):

=====================  ======================  ==================================================
class                  tags                    what it does
=====================  ======================  ==================================================
SingleIngestUser       ingest, single          POST /logs with one entry
BatchIngestUser        ingest, batch           POST /logs with ``--batch-size`` entries
NewestReadUser         read, newest            GET /logs/recent?limit=N across all services
ServiceReadUser        read, service           one service, level filter, since, paging
OnCallUser             mixed, oncall           services logging while an on-call engineer polls
                                               the newest entries and drills into errors
=====================  ======================  ==================================================

Every request is signed with SigV4 just before it is sent, over the exact bytes sent, with the
ingest role's credentials for POST and the read role's for GET (loadtests/signing.py). Every
answer is checked against the shape the service documents (loadtests/content.py): a single
POST names the entry sent, each entry read carries its log_id, service, timestamp, level and
message. Reads check the content: newest first (timestamp, then log_id, descending),
``count`` equal to the entries returned and not above ``limit``, and for per-service reads the
service, levels and time range asked for; a wrong answer is a failure, as a wrong status is.
A batch that stores only some entries (207), or whose results are not the entries sent (index,
log_id), is a failure too; the entries it shows stored are counted for the logs/s metric.

Run it through ``nox -s load`` (or ``python -m slsops.load.run``), which also judges the run;
loadtests/README.md has the command lines, distributed ones included.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

from content import (
    NEWEST_READ_GRACE_S,
    SERVICE_READ_GRACE_S,
    batch_outcome,
    check_page,
    order_key,
    single_problem,
)
from gate import STATE
from gevent import GreenletExit
from locust import FastHttpUser, tag, task
from locust.user.task import LOCUST_STATE_STOPPING
from payloads import LogFactory, body_bytes
from signing import RequestSigner, query_string

from slsops.load.measurements import INGEST_BATCH, INGEST_SINGLE, READ_NEWEST, READ_SERVICE

JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}
ACCEPT_JSON = {"Accept": "application/json"}
SERVICE_READ_WINDOW = timedelta(minutes=15)


class SignedApiUser(FastHttpUser):
    """Base of every scenario: one signer and one log factory per user."""

    abstract = True
    # FastHttpUser's defaults: 60 s timeouts. A gate run wants a slow answer counted as slow,
    # not hung: 30 s is far beyond any target and bounds a run's tail.
    network_timeout = 30.0
    connection_timeout = 10.0

    def on_start(self) -> None:
        if STATE.credentials is None or STATE.stack is None:
            raise RuntimeError("the gate's init listener did not run (no --slsops-stack?)")
        self.signer = RequestSigner(STATE.credentials.for_role, STATE.stack.region)
        self.logs = LogFactory(seed=int.from_bytes(os.urandom(8), "big"))
        self.base_url = self.host.rstrip("/")

    # ------------------------------------------------------------------ requests
    def _post(self, document: dict, name: str) -> Any:
        body = body_bytes(document)
        url = f"{self.base_url}/logs"
        headers = self.signer.headers("POST", url, body, JSON_HEADERS)
        return self._send("POST", url, data=body, headers=headers, name=name)

    def _get(self, params: dict[str, Any], name: str) -> Any:
        url = f"{self.base_url}/logs/recent?{query_string(params)}"
        headers = self.signer.headers("GET", url, None, ACCEPT_JSON)
        return self._send("GET", url, headers=headers, name=name)

    def _send(self, method: str, url: str, **kwargs: Any) -> Any:
        """One request. At the end of a run Locust asks each user to stop after its task
        (``stopping``) and kills the ones still busy when the stop timeout is over: a request
        killed so never reaches its stats, so it is counted here, as unanswered (a failure),
        or a service that hangs would pass for one that answers. A user killed as it woke
        from its wait (Locust's kill can land in the request it just began) was not stopping:
        that request is not counted."""
        try:
            return self.client.request(method, url, catch_response=True, **kwargs)
        except GreenletExit:
            if self._state == LOCUST_STATE_STOPPING:
                STATE.unanswered.add(1)
            raise

    # ------------------------------------------------------------------ actions
    def ingest_single(self) -> None:
        entry = self.logs.entry()
        with self._post(entry, INGEST_SINGLE.name) as response:
            if response.status_code != 201:
                response.failure(_status_problem(response))
                return
            problem = single_problem(_json(response), entry["log_id"])
            if problem:
                response.failure(problem)
                return
            STATE.entries.add(1)
            STATE.acknowledged.note(entry["service_name"], entry["level"], entry["timestamp"])

    def ingest_batch(self) -> None:
        batch = self.logs.batch(STATE.batch_size)
        sent_ids = [entry["log_id"] for entry in batch["logs"]]
        with self._post(batch, INGEST_BATCH.name) as response:
            if response.status_code not in (201, 207):
                response.failure(_status_problem(response))
                return
            stored, problem = batch_outcome(_json(response), sent_ids)
            STATE.entries.add(stored)
            if problem:
                response.failure(f"{response.status_code}: {problem}")
                return
            for entry in batch["logs"]:  # every one stored (a partial answer noted none)
                STATE.acknowledged.note(entry["service_name"], entry["level"], entry["timestamp"])

    def read_newest(self) -> None:
        limit = self.logs.limit()
        with self._get({"limit": limit}, READ_NEWEST.name) as response:
            if response.status_code != 200:
                response.failure(_status_problem(response))
                return
            body = _json(response)
            problem = check_page(body, limit)
            if not problem and not body["logs"]:
                problem = STATE.acknowledged.empty_problem(NEWEST_READ_GRACE_S)
            if problem:
                response.failure(problem)

    def read_service(self, levels: str | None = None) -> None:
        """One service, optionally a level filter, the last 15 minutes, following pages."""
        service = self.logs.service()
        limit = self.logs.limit()
        since = _timestamp(datetime.now(UTC) - SERVICE_READ_WINDOW)
        params: dict[str, Any] = {"service_name": service, "since": since, "limit": limit}
        if levels:
            params["level"] = levels
        level_set = set(levels.split(",")) if levels else None
        last_key = None
        for _page in range(STATE.read_pages):
            with self._get(params, READ_SERVICE.name) as response:
                if response.status_code != 200:
                    response.failure(_status_problem(response))
                    return
                body = _json(response)
                problem = check_page(body, limit, last_key, service, level_set, since)
                if not problem and not body["logs"] and "next_token" not in params:
                    # The first page (a later one may be empty: the service stops at the limit
                    # without reading further).
                    problem = STATE.acknowledged.empty_problem(
                        SERVICE_READ_GRACE_S, service, level_set, since
                    )
                if problem:
                    response.failure(problem)
                    return
                if body["logs"]:
                    last_key = order_key(body["logs"][-1])
                token = body.get("next_token")
                if not token:
                    return
                params = {**params, "next_token": token}


def _status_problem(response: Any) -> str:
    """One line for a wrong status: the code and the start of the body (0: no answer)."""
    text = (response.text or "") if response.status_code else str(getattr(response, "error", None))
    return f"status {response.status_code}: {text[:200]}"


def _json(response: Any) -> Any:
    """The response body as JSON, parsed once per response; None when it is not JSON."""
    cached = getattr(response, "_slsops_json", _json)
    if cached is not _json:
        return cached
    try:
        value = response.json()
    except ValueError:
        value = None
    response._slsops_json = value
    return value


def _timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# ---------------------------------------------------------------------- scenarios
class SingleIngestUser(SignedApiUser):
    """A service that sends each log entry as it happens."""

    weight = 3

    @tag("ingest", "single")
    @task
    def post_one(self) -> None:
        self.ingest_single()


class BatchIngestUser(SignedApiUser):
    """A service (or log shipper) that buffers entries and sends them in batches."""

    weight = 1

    @tag("ingest", "batch")
    @task
    def post_batch(self) -> None:
        self.ingest_batch()


class NewestReadUser(SignedApiUser):
    """A dashboard showing the newest N entries across all services."""

    weight = 4

    @tag("read", "newest")
    @task
    def newest(self) -> None:
        self.read_newest()


class ServiceReadUser(SignedApiUser):
    """Someone reading one service's recent logs, with a level filter, page by page."""

    weight = 2

    @tag("read", "service")
    @task(2)
    def filtered(self) -> None:
        self.read_service(self.logs.error_levels())

    @tag("read", "service")
    @task(1)
    def unfiltered(self) -> None:
        self.read_service(None)


class OnCallUser(SignedApiUser):
    """An incident: services keep logging while the on-call engineer polls and drills in."""

    weight = 2

    @tag("mixed", "oncall")
    @task(5)
    def service_logs_one(self) -> None:
        self.ingest_single()

    @tag("mixed", "oncall")
    @task(1)
    def shipper_sends_batch(self) -> None:
        self.ingest_batch()

    @tag("mixed", "oncall")
    @task(3)
    def poll_newest(self) -> None:
        self.read_newest()

    @tag("mixed", "oncall")
    @task(2)
    def drill_into_errors(self) -> None:
        self.read_service("ERROR")
