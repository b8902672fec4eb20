"""The embedded default and the scale configuration are what the README promises."""

import os

import pytest
from django.conf import settings
from django.db import connection
from django_q.brokers import get_broker

REQUIRE_SERVICES = os.environ.get("NAV_CRM_REQUIRE_SERVICES") == "1"


def test_django_q_retry_exceeds_timeout():
    # Otherwise django-q2 re-delivers a task that is still running.
    assert settings.Q_CLUSTER["retry"] > settings.Q_CLUSTER["timeout"]


@pytest.mark.django_db
def test_sqlite_runs_in_wal_mode_with_immediate_transactions():
    if connection.vendor != "sqlite":
        pytest.skip("the embedded SQLite default is not in use in this run")
    assert settings.DATABASES["default"]["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert settings.DATABASES["default"]["OPTIONS"]["timeout"] >= 5
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        mode = cursor.fetchone()[0]
    # The test database lives in memory, where SQLite reports "memory"; a file database is WAL.
    assert mode in {"wal", "memory"}


def test_sqlite_file_database_is_wal(tmp_path):
    import sqlite3

    from nav_crm.settings import SQLITE_OPTIONS

    db = sqlite3.connect(tmp_path / "probe.sqlite3")
    db.executescript(SQLITE_OPTIONS["init_command"])
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


@pytest.mark.skipif(not REQUIRE_SERVICES, reason="only when CI runs the suite against PostgreSQL and Redis")
def test_ci_runs_against_postgresql_and_redis():
    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    assert settings.Q_CLUSTER.get("redis", "").startswith("redis://")
    assert type(get_broker()).__name__ == "Redis"


@pytest.mark.django_db(transaction=True)
def test_configured_broker_round_trips_a_task():
    broker = get_broker("nav_crm_test_round_trip")
    broker.purge_queue()
    assert broker.ping()
    broker.enqueue("payload")
    [(task_id, payload)] = broker.dequeue()
    # Redis hands back bytes, the ORM broker text.
    assert (payload.decode() if isinstance(payload, bytes) else payload) == "payload"
    broker.acknowledge(task_id)
    broker.purge_queue()
