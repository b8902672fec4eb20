"""What sits in the configured django-q2 broker's queue, whichever broker it is (ORM or Redis).

Read without taking anything off the queue, so a test may look more than once.
"""

from django.conf import settings
from django_q.brokers import get_broker
from django_q.models import OrmQ
from django_q.signing import SignedPackage


def queued_payloads() -> list[dict]:
    broker = get_broker()
    if type(broker).__name__ == "Redis":
        raw = broker.connection.lrange(broker.list_key, 0, -1)
    else:
        raw = OrmQ.objects.filter(key=broker.list_key).values_list("payload", flat=True)
    return [SignedPackage.loads(payload) for payload in raw]


def queued_job_ids() -> list[int]:
    return [payload["args"][0] for payload in queued_payloads()]


def purge_queue() -> None:
    """Redis keeps its queue between tests; the ORM broker's rows roll back with each test.

    Decided from the settings, so that it touches no database (many tests have none).
    """
    if settings.Q_CLUSTER.get("redis"):
        get_broker().purge_queue()
