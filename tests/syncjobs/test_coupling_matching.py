"""Match-based coupling: the criteria page and the background job, against a real CRM sandbox."""

import uuid

from django.urls import reverse

from coupling import workflows
from coupling.models import Coupling
from syncjobs.engine import matching
from syncjobs.models import SyncJob, SyncJobError
from tests import factories
from tests.syncjobs import coupling_support as cs
from tests.syncjobs import engine_support as support

CUSTOMERS = reverse("erp:customer_list")


def field(mapping, name):
    return mapping.field_mappings.get(name=name)


# Field mappings are named after their CRM attribute.
FIELD_NAMES = {"name": "name", "city": "address1_city", "phone": "telephone1"}


def criteria(mapping, **fields):
    """{ERP field: (match on, case-sensitive, priority)}; every other field is off."""
    chosen = {f.pk: (False, False, 0) for f in matching.match_fields(mapping=mapping)}
    for name, value in fields.items():
        chosen[field(mapping, FIELD_NAMES[name]).pk] = value
    return chosen


def run_matching(mapping, customers=None, **options):
    mapping = support.mapping(mapping.name)
    if options:
        workflows.match_criteria_save(
            mapping=mapping,
            criteria=options.pop("criteria"),
            create_new_if_no_match=options.pop("create_new", False),
            sync_after_bulk_coupling=options.pop("sync_after", False),
        )
    ids = [str(c.system_id) for c in customers] if customers is not None else None
    job = workflows.match_coupling_start(mapping=mapping, erp_system_ids=ids)
    return support.jobs.job_run(job_id=job.pk)


def by_name(mapping):
    return criteria(mapping, name=(True, False, 1))


def test_a_unique_uncoupled_match_couples_and_synchronizes_after(connected):
    mapping = support.mapping("CUSTOMER", crm_filter="statecode eq 0")
    customer = factories.CustomerFactory(name="Litware Trading")  # the sandbox's seed account C0000010
    job = run_matching(mapping, [customer], criteria=by_name(mapping), sync_after=True)
    assert job.status == SyncJob.Status.SUCCESS, support.errors(job)
    assert job.coupled == 1 and job.progress_done == 1
    coupling = support.coupling_of(customer)
    row = support.crm_row(connected, "accounts", coupling.crm_id, ["accountnumber"])
    assert row["accountnumber"] == "C0000010"
    follow = SyncJob.objects.get(
        kind=SyncJob.Kind.SYNCHRONIZATION, parameters__erp_system_ids=[str(customer.system_id)]
    )
    assert follow.direction == "to_crm"


def test_several_matches_fail_the_record_naming_the_candidates(connected):
    mapping = support.mapping("CUSTOMER")
    first = cs.create_account(connected, "Twin Match Co", address1_city="Aville")
    second = cs.create_account(connected, "Twin Match Co", address1_city="Bville")
    customer = factories.CustomerFactory(name="Twin Match Co", city="Bville")
    job = run_matching(mapping, [customer], criteria=by_name(mapping))
    assert job.status == SyncJob.Status.ERROR and job.coupled == 0
    error = SyncJobError.objects.get(job=job)
    assert error.message.startswith(
        "No unique uncoupled matching Dynamics 365 account was found: 2 Dynamics 365 accounts have the same name"
    )
    assert first in error.message and second in error.message
    assert error.erp_system_id == customer.system_id
    assert support.coupling_of(customer) is None


def test_priorities_try_the_lower_group_first_and_fields_of_one_priority_all_match(connected):
    mapping = support.mapping("CUSTOMER")
    cs.create_account(connected, "Prio Match Co", address1_city="Aville")
    wanted = cs.create_account(connected, "Prio Match Co", address1_city="Cville")
    customer = factories.CustomerFactory(name="Prio Match Co", city="Cville")
    # Name and city together (one group) single out one account.
    job = run_matching(mapping, [customer], criteria=criteria(mapping, name=(True, False, 1), city=(True, False, 1)))
    assert job.coupled == 1 and str(support.coupling_of(customer).crm_id) == wanted

    other = factories.CustomerFactory(name="Prio Second Co", phone="+1 000 000 0000", city="Dville")
    target = cs.create_account(connected, "Prio Second Co", address1_city="Dville")
    cs.create_account(connected, "Prio Second Co", address1_city="Eville")
    # Phone (priority 1) matches nothing; city (priority 2) finds the one account.
    job = run_matching(mapping, [other], criteria=criteria(mapping, phone=(True, False, 1), city=(True, False, 2)))
    assert job.coupled == 1, support.errors(job)
    assert str(support.coupling_of(other).crm_id) == target


def test_a_match_coupled_already_leaves_the_record_unmatched(connected):
    mapping = support.mapping("CUSTOMER")
    crm_id = cs.create_account(connected, "Already Taken Co")
    support.couple(factories.CustomerFactory(name="Owner"), "account", crm_id)
    customer = factories.CustomerFactory(name="Already Taken Co")
    job = run_matching(mapping, [customer], criteria=by_name(mapping))
    assert job.coupled == 0
    assert "is coupled already" in SyncJobError.objects.get(job=job).message


def test_no_match_with_create_new_prepares_the_create_in_dynamics(connected):
    mapping = support.mapping("CUSTOMER")
    customer = factories.CustomerFactory(name="Nowhere To Be Found Co")
    job = run_matching(mapping, [customer], criteria=by_name(mapping), create_new=True)
    assert job.status == SyncJob.Status.SUCCESS and job.failed == 0
    assert support.coupling_of(customer).state == Coupling.State.CREATING
    follow = SyncJob.objects.get(
        kind=SyncJob.Kind.SYNCHRONIZATION, parameters__erp_system_ids=[str(customer.system_id)]
    )
    assert follow.direction == "to_crm"
    assert "creating 1 unmatched" in job.message.lower()


def test_case_sensitive_matching_is_checked_again_after_the_crm_query(connected):
    mapping = support.mapping("CUSTOMER")
    crm_id = cs.create_account(connected, "Casey Letters Co")
    customer = factories.CustomerFactory(name="CASEY LETTERS CO")
    sensitive = run_matching(mapping, [customer], criteria=criteria(mapping, name=(True, True, 1)))
    assert sensitive.coupled == 0 and support.coupling_of(customer) is None
    insensitive = run_matching(mapping, [customer], criteria=criteria(mapping, name=(True, False, 1)))
    assert insensitive.coupled == 1, support.errors(insensitive)
    assert str(support.coupling_of(customer).crm_id) == crm_id


def test_without_selected_records_every_uncoupled_record_of_the_mapping_is_matched(connected):
    mapping = support.mapping("CUSTOMER")
    cs.create_account(connected, "Everyone Alpha")
    cs.create_account(connected, "Everyone Beta")
    alpha = factories.CustomerFactory(name="Everyone Alpha")
    beta = factories.CustomerFactory(name="Everyone Beta")
    job = run_matching(mapping, criteria=by_name(mapping))
    assert support.coupling_of(alpha) is not None and support.coupling_of(beta) is not None
    assert job.coupled == 2


def test_the_criteria_page_saves_the_criteria_and_starts_the_job(connected):
    mapping = support.mapping("CUSTOMER")
    customer = factories.CustomerFactory(name="Page Match Co")
    client = cs.client_with(*cs.EVERYTHING)
    page = client.post(CUSTOMERS, {"action": "crm_match", "pk": [customer.pk]})
    assert page.status_code == 200 and str(customer.system_id) in page.content.decode()
    # The attributes by the names Dynamics 365 shows, not their logical names (issue 13 §6).
    assert "<td>Address 1: City</td>" in page.content.decode() and "<td>address1_city</td>" not in page.content.decode()

    name, city = field(mapping, "name"), field(mapping, "address1_city")
    url = reverse("coupling:match", args=[mapping.pk])
    bad = client.post(url, {"system_id": [customer.system_id], f"f{name.pk}-use": "on", f"f{name.pk}-priority": "x"})
    assert "Enter a whole number from 0 to 1000." in bad.content.decode()
    none = client.post(url, {"system_id": [customer.system_id]})
    assert "Choose at least one field to match on." in none.content.decode()

    response = client.post(
        url,
        {
            "system_id": [customer.system_id],
            f"f{city.pk}-use": "on",
            f"f{city.pk}-case": "on",
            f"f{city.pk}-priority": "3",
            "create_new_if_no_match": "on",
        },
    )
    job = SyncJob.objects.get(kind=SyncJob.Kind.COUPLING)
    assert response.status_code == 302 and response["Location"] == job.get_absolute_url()
    assert job.parameters == {"erp_system_ids": [str(customer.system_id)]}
    city.refresh_from_db()
    name.refresh_from_db()
    assert (city.use_for_match_based_coupling, city.case_sensitive_matching, city.match_priority) == (True, True, 3)
    assert not name.use_for_match_based_coupling
    mapping.refresh_from_db()
    assert mapping.create_new_if_no_match and not mapping.sync_after_bulk_coupling


# --- Lookups as match fields: price list items have no name, they are their price list and product -------


def seeded_price_list_item(sandbox) -> tuple[str, str, str]:
    """(price list id, product id, price list item id) of one of the seed's Default Price List items."""
    price_list = support.crm_rows(
        sandbox, "pricelevels", select=["name"], filter=support.F.eq("name", "Default Price List")
    )[0]["pricelevelid"]
    product = support.crm_rows(
        sandbox, "products", select=["productnumber"], filter=support.F.eq("productnumber", "I000010")
    )[0]["productid"]
    item = support.crm_rows(
        sandbox,
        "productpricelevels",
        select=["amount"],
        filter=support.F.all(
            support.F.eq("_pricelevelid_value", uuid.UUID(price_list)),
            support.F.eq("_productid_value", uuid.UUID(product)),
        ),
    )[0]["productpricelevelid"]
    return price_list, product, item


def test_price_list_items_match_by_their_coupled_price_list_and_product(connected):
    price_list_id, product_id, item_id = seeded_price_list_item(connected)
    group = factories.CustomerPriceGroupFactory(code="DEFAULT")
    support.couple(group, "pricelevel", price_list_id)
    item = factories.ItemFactory(no="I000010")
    support.couple(item, "product", product_id)
    price = factories.SalesPriceFactory(item=item, sales_type="customer_price_group", sales_code="DEFAULT")
    # The same price list, an item not coupled: nothing to match on, and the failure says why.
    lonely = factories.SalesPriceFactory(sales_type="customer_price_group", sales_code="DEFAULT")
    mapping = support.mapping("SALESPRC-PRODPRICE", create_new_if_no_match=False)
    assert {f.crm_attribute for f in mapping.field_mappings.filter(use_for_match_based_coupling=True)} == {
        "pricelevelid",
        "productid",
    }

    job = run_matching(mapping, [price, lonely])

    assert job.coupled == 1, support.errors(job)
    assert str(support.coupling_of(price).crm_id).lower() == item_id.lower()
    assert support.coupling_of(lonely) is None
    error = SyncJobError.objects.get(job=job)
    assert error.erp_system_id == lonely.system_id
    assert "must be coupled to a Dynamics 365 product" in error.message and lonely.item.no in error.message


def test_lookup_fields_are_offered_as_coupling_criteria(connected):
    offered = {f.crm_attribute for f in matching.match_fields(mapping=support.mapping("SALESPRC-PRODPRICE"))}
    assert {"pricelevelid", "productid"} <= offered
    # The unit is the base unit of a unit group, not a coupled id: it cannot be matched on.
    assert "uomid" not in offered
