"""Throttling, injected faults, timeouts, the concurrency cap and the request counters, against the sandbox."""

import datetime
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from dataverse import Client, DataverseError, F, Throttled, TransportError

from .conftest import SandboxClock, make_client


def test_throttling_honours_retry_after(crm_sandbox_with):
    sandbox = crm_sandbox_with(throttle="3/2")
    clock = SandboxClock(sandbox)
    with make_client(sandbox, clock=clock) as client:
        started = clock.monotonic()
        for _ in range(7):
            client.whoami()
        elapsed = clock.monotonic() - started
        assert client.stats.throttled >= 1
        assert client.stats.count(status=429) == client.stats.throttled
        assert client.stats.count(status=200) == 7
        assert elapsed >= client.stats.throttled_seconds * 0.99
        assert client.stats.throttled_seconds >= 1
        throttling = client.stats.throttling()
        assert throttling.answers == client.stats.throttled
        assert throttling.last_retry_after is not None and 1 <= throttling.last_retry_after <= 2
        assert abs(datetime.datetime.now(datetime.UTC) - throttling.last_at) < datetime.timedelta(minutes=1)


def test_throttling_is_shared_between_threads(crm_sandbox_with):
    sandbox = crm_sandbox_with(throttle="4/2")
    clock = SandboxClock(sandbox)
    with make_client(sandbox, max_retries=10, clock=clock) as client, ThreadPoolExecutor(4) as pool:
        users = list(pool.map(lambda _: client.whoami().user_id, range(12)))
        assert len(users) == 12
        assert client.stats.count(status=200) == 12
        # Once one thread sees 429 the others wait too, so 429s stay about one per thread per window.
        assert client.stats.count(status=429) <= 4 * 4


def test_throttled_is_raised_with_retry_after_when_retries_are_used_up(crm_sandbox_with):
    sandbox = crm_sandbox_with(throttle="1/30")
    with make_client(sandbox, max_retries=0) as client:
        client.whoami()
        with pytest.raises(Throttled) as caught:
            client.whoami()
    assert caught.value.status == 429
    assert caught.value.retry_after >= 1
    # The answer given up on is counted too, with the wait it asked for.
    throttling = client.stats.throttling()
    assert (throttling.answers, throttling.last_retry_after) == (1, caught.value.retry_after)
    assert client.stats.throttled_seconds == 0


def test_faults_are_retried_without_duplicates_when_ids_are_ours(crm_sandbox_with, tag):
    sandbox = crm_sandbox_with(fault_rate=0.3)
    with make_client(sandbox, max_retries=20) as client:
        ids = [uuid.uuid4() for _ in range(30)]
        for n, record in enumerate(ids):
            assert client.create("accounts", {"name": f"F{n:02d} {tag}"}, id=record) == str(record)
        assert client.stats.retries > 0
        rows = list(client.query("accounts", select=["name"], filter=F.endswith("name", tag), page_size=7))
    assert sorted(row["accountid"] for row in rows) == sorted(str(i) for i in ids)


def test_creates_without_our_id_are_never_repeated(crm_sandbox_with, tag):
    sandbox = crm_sandbox_with(fault_rate=0.3)
    succeeded, failed = 0, 0
    with make_client(sandbox, max_retries=20) as client:
        for n in range(30):
            try:
                client.create("accounts", {"name": f"N{n:02d} {tag}"})
                succeeded += 1
            except DataverseError:
                failed += 1
        rows = list(client.query("accounts", select=["name"], filter=F.endswith("name", tag)))
    names = [row["name"] for row in rows]
    assert len(names) == len(set(names)), "a create was repeated"
    assert succeeded <= len(names) <= succeeded + failed


def test_reads_are_retried_through_faults(crm_sandbox_with):
    sandbox = crm_sandbox_with(fault_rate=0.3)
    with make_client(sandbox, max_retries=20) as client:
        for _ in range(15):
            client.whoami()
        assert client.stats.count("GET", 200) == 15
        assert client.stats.retries > 0


def test_every_request_has_a_timeout_and_a_timed_out_create_is_not_repeated(crm_sandbox_with, tag):
    sandbox = crm_sandbox_with(latency_ms=500)
    patient = make_client(sandbox, timeout=10)
    patient.whoami()  # the token is fetched (slowly) once and cached in the shared auth object
    with Client(sandbox.url, auth=patient._auth, ca_bundle=sandbox.ca_bundle, timeout=0.15, max_retries=1) as client:
        with pytest.raises(TransportError):
            client.whoami()
        assert client.stats.retries == 1  # a read is retried
        client.stats.reset()
        with pytest.raises(TransportError) as caught:
            client.create("accounts", {"name": f"Slow {tag}"})
        assert client.stats.retries == 0
        assert caught.value.after_possible_delivery
    # The server finishes the create the client gave up on: exactly one record, once it is there.
    deadline = time.monotonic() + 20
    while not (found := list(patient.query("accounts", select=["name"], filter=F.eq("name", f"Slow {tag}")))):
        assert time.monotonic() < deadline, "the create the client gave up on never arrived"
    assert len(found) == 1


def test_max_concurrency_caps_requests_in_flight(crm_sandbox_with):
    sandbox = crm_sandbox_with(latency_ms=100)

    def timed(client):
        client.whoami()  # token and connection first
        started = time.monotonic()
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda _: client.whoami(), range(4)))
        return time.monotonic() - started

    with make_client(sandbox, max_concurrency=1) as capped, make_client(sandbox) as free:
        capped_time, free_time = timed(capped), timed(free)
    assert capped_time >= 4 * 0.1
    assert free_time < capped_time


def test_stats_count_by_method_and_status_and_reset(client, tag):
    client.stats.reset()
    account = client.create("accounts", {"name": f"Stats {tag}"})
    client.retrieve("accounts", account)
    with pytest.raises(DataverseError):
        client.retrieve("accounts", uuid.uuid4())
    snapshot = client.stats.snapshot()
    assert snapshot["requests"] == {"GET 200": 1, "GET 404": 1, "POST 204": 1}
    assert snapshot["total"] == 3
    client.stats.reset()
    assert client.stats.snapshot() == {
        "requests": {},
        "total": 0,
        "transport_errors": 0,
        "retries": 0,
        "throttled": 0,
        "throttled_seconds": 0.0,
        "last_throttled_at": None,
        "last_retry_after": None,
    }
