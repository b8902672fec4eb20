"""In a real browser at 1366×768 (issue 13 §6): the synchronization log, the mappings, the errors and the ERP's
wide lists fit the screen with their default columns (no table wider than its place, no page scrolling
sideways), and the "Columns" dialog shows another column, for this user, with nothing fetched from elsewhere."""

import io
import uuid

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.utils import timezone

from erp.models import Customer
from syncjobs.mappings.services import mapping_reset_to_defaults
from syncjobs.models import CrmConnection, IntegrationTableMapping, SyncJob, SyncJobError
from tests.e2e.browser_support import log_in, shot
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREEN = {"width": 1366, "height": 768}
WIDE_LISTS = [
    "/sync/log/",
    "/sync/mappings/",
    "/sync/errors/",
    "/erp/customers/",
    "/erp/contacts/",
    "/erp/sales-orders/",
    "/erp/sales-prices/",
]
# Each list table's width against its place, and the page's own width.
MEASURE = """() => ({
  page: document.scrollingElement.scrollWidth,
  tables: Array.from(document.querySelectorAll('table.object-table')).map(table => ({
    width: table.scrollWidth, room: table.parentElement.clientWidth, rows: table.tBodies[0].rows.length,
  })),
})"""


@pytest.fixture
def busy_integration():
    """The demo data, the default mappings, a log entry with every counter at work, failing records."""
    call_command("erp_seed", stdout=io.StringIO())
    if not IntegrationTableMapping.objects.exists():
        mapping_reset_to_defaults()
    CrmConnection.objects.update_or_create(
        pk=CrmConnection.SINGLETON_PK, defaults={"server_url": "https://crm.example.com/"}
    )
    customer_mapping = IntegrationTableMapping.objects.get(name="CUSTOMER")
    now = timezone.now()
    job = SyncJob.objects.create(
        mapping=customer_mapping,
        mapping_name=customer_mapping.name,
        direction=SyncJob.JobDirection.BOTH,
        full=True,
        status=SyncJob.Status.ERROR,
        **dict.fromkeys(SyncJob.COUNTERS, 123456),
        http_requests=98765,
        started_at=now,
        finished_at=now,
    )
    for customer in Customer.objects.order_by("no")[:5]:
        SyncJobError.objects.create(
            job=job,
            mapping=customer_mapping,
            erp_model=ContentType.objects.get_for_model(Customer),
            erp_system_id=customer.system_id,
            erp_label=str(customer),
            crm_entity="account",
            crm_id=uuid.uuid4(),
            message=f"Salesperson of {customer} must be coupled to a Dynamics 365 user before the customer can be "
            "synchronized: couple it, then retry.",
        )


def test_the_wide_lists_fit_a_1366_pixel_screen_with_their_default_columns(live_server, page, busy_integration):
    page.set_viewport_size(SCREEN)
    log_in(page, live_server, "/sync/log/", user=UserFactory(is_superuser=True, is_staff=True))
    for path in WIDE_LISTS:
        page.goto(f"{live_server.url}{path}")
        measured = page.evaluate(MEASURE)
        shot(page, f"fit{path.replace('/', '-')}")
        assert measured["tables"] and measured["tables"][0]["rows"] > 0, path
        for table in measured["tables"]:
            assert table["width"] <= table["room"], (path, table)
        assert measured["page"] <= SCREEN["width"], (path, measured["page"])
    # The log's counters and the mappings' policies are there to read, not scrolled out of sight.
    page.goto(f"{live_server.url}/sync/log/")
    assert "123456 inserted" in page.inner_text("table.object-table")
    page.goto(f"{live_server.url}/sync/mappings/")
    assert "Deleted: Report only" in page.inner_text("table.object-table")


def test_the_columns_dialog_shows_another_column_for_this_user(live_server, page, busy_integration):
    external_requests = []
    page.on(
        "request",
        lambda request: None if request.url.startswith(live_server.url) else external_requests.append(request.url),
    )
    page.set_viewport_size(SCREEN)
    log_in(page, live_server, "/sync/log/", perms=["syncjobs.view_syncjob"])
    headings = page.locator("table.object-table thead th")
    assert "HTTP requests" not in headings.all_inner_texts()

    page.click("[data-testid=columns-button]")
    page.wait_for_selector("#columns-dialog.show")
    page.check("#column-http_requests")
    page.click("#columns-dialog button:has-text('Show these columns')")
    page.wait_for_load_state()
    assert "HTTP requests" in page.locator("table.object-table thead th").all_inner_texts()
    assert "98765" in page.inner_text("table.object-table")
    page.reload()
    assert "HTTP requests" in page.locator("table.object-table thead th").all_inner_texts()  # kept
    assert external_requests == []  # the dialog's script and styles come from the site itself
