import uuid

import pytest
from django.core.exceptions import ValidationError

from coupling import selectors, services
from coupling.models import Coupling
from erp.models import Customer, Item
from tests import factories

pytestmark = pytest.mark.django_db


def test_couple_and_find_both_ways():
    customer = factories.CustomerFactory()
    crm_id = uuid.uuid4()
    coupling = services.coupling_create(record=customer, crm_entity="account", crm_id=crm_id)

    assert selectors.coupling_for_record(record=customer) == coupling
    assert selectors.coupling_for_crm_row(crm_entity="account", crm_id=str(crm_id)) == coupling
    assert selectors.crm_ids_for(model=Customer, system_ids=[customer.system_id]) == {customer.system_id: crm_id}


def test_coupling_again_to_the_same_row_is_a_no_op():
    customer = factories.CustomerFactory()
    crm_id = uuid.uuid4()
    first = services.coupling_create(record=customer, crm_entity="account", crm_id=crm_id)
    assert services.coupling_create(record=customer, crm_entity="account", crm_id=crm_id) == first
    assert Coupling.objects.count() == 1


def test_a_coupled_record_cannot_be_coupled_to_another_row():
    customer = factories.CustomerFactory()
    services.coupling_create(record=customer, crm_entity="account", crm_id=uuid.uuid4())
    with pytest.raises(ValidationError, match="already coupled"):
        services.coupling_create(record=customer, crm_entity="account", crm_id=uuid.uuid4())


def test_a_coupled_row_cannot_be_coupled_to_another_record_and_the_error_names_it():
    crm_id = uuid.uuid4()
    first = factories.CustomerFactory(name="Adatum")
    services.coupling_create(record=first, crm_entity="account", crm_id=crm_id)
    with pytest.raises(ValidationError, match="Adatum"):
        services.coupling_create(record=factories.CustomerFactory(), crm_entity="account", crm_id=crm_id)


def test_an_item_and_a_resource_cannot_share_one_product():
    crm_id = uuid.uuid4()
    services.coupling_create(record=factories.ItemFactory(), crm_entity="product", crm_id=crm_id)
    with pytest.raises(ValidationError, match="already coupled"):
        services.coupling_create(record=factories.ResourceFactory(), crm_entity="product", crm_id=crm_id)


def test_a_stale_coupling_of_a_deleted_record_is_replaced():
    crm_id = uuid.uuid4()
    gone = factories.CustomerFactory()
    services.coupling_create(record=gone, crm_entity="account", crm_id=crm_id)
    gone.delete()

    survivor = factories.CustomerFactory()
    coupling = services.coupling_create(record=survivor, crm_entity="account", crm_id=crm_id)
    assert coupling.erp_system_id == survivor.system_id
    assert Coupling.objects.count() == 1


def test_decouple():
    item = factories.ItemFactory()
    services.coupling_create(record=item, crm_entity="product", crm_id=uuid.uuid4())
    assert services.coupling_delete(record=item) is True
    assert services.coupling_delete(record=item) is False
    assert selectors.coupling_for_record(record=item) is None


def test_pending_create_is_not_reported_as_coupled_until_confirmed():
    item = factories.ItemFactory()
    coupling = services.coupling_create(
        record=item, crm_entity="product", crm_id=uuid.uuid4(), state=Coupling.State.CREATING
    )
    assert selectors.crm_ids_for(model=Item, system_ids=[item.system_id]) == {}
    Coupling.objects.filter(pk=coupling.pk).update(state=Coupling.State.COUPLED)  # the engine confirms the create
    assert selectors.crm_ids_for(model=Item, system_ids=[item.system_id]) == {item.system_id: coupling.crm_id}


def test_list_annotation_marks_coupled_records():
    coupled, uncoupled = factories.CustomerFactory(), factories.CustomerFactory()
    crm_id = uuid.uuid4()
    services.coupling_create(record=coupled, crm_entity="account", crm_id=crm_id)

    rows = {c.pk: c for c in selectors.with_coupling(Customer.objects.all())}
    assert rows[coupled.pk].is_coupled is True and rows[coupled.pk].crm_id == crm_id
    assert rows[uncoupled.pk].is_coupled is False and rows[uncoupled.pk].crm_id is None


def test_deleting_a_coupled_record_marks_its_coupling_for_the_next_incremental_run():
    deleted, kept = factories.CustomerFactory(), factories.CustomerFactory()
    services.coupling_create(record=deleted, crm_entity="account", crm_id=uuid.uuid4())
    services.coupling_create(record=kept, crm_entity="account", crm_id=uuid.uuid4())

    Customer.objects.filter(pk=deleted.pk).delete()  # a bulk delete sends the signal per record too

    marked = Coupling.objects.filter(erp_deleted_at__isnull=False)
    assert list(marked.values_list("erp_system_id", flat=True)) == [deleted.system_id]
