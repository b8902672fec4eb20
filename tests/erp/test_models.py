"""Model rules: clean() and constraints."""

import pytest
from django.contrib.auth.models import Group

from tests import factories

pytestmark = pytest.mark.django_db


def test_every_factory_builds_a_valid_record():
    line = factories.SalesLineFactory()
    resource_line = factories.SalesLineFactory(type="resource", resource=factories.ResourceFactory())
    for record in [
        factories.CurrencyFactory(),
        factories.CurrencyExchangeRateFactory(),
        factories.GeneralSetupFactory(),
        factories.SalespersonFactory(),
        factories.PaymentTermsFactory(),
        factories.ShipmentMethodFactory(),
        factories.ShippingAgentFactory(),
        factories.CustomerPriceGroupFactory(),
        factories.CompanyContactFactory(customer=factories.CustomerFactory()),
        factories.ContactFactory(company=factories.CompanyContactFactory()),
        factories.ItemUnitOfMeasureFactory(),
        factories.SalesPriceFactory(),
        factories.ItemLedgerEntryFactory(),
        factories.NoSeriesFactory(),
        line,
        resource_line,
    ]:
        record.full_clean()
    assert line.line_amount == line.quantity * line.unit_price
    assert line.item.units_of_measure.get().unit_of_measure == line.item.base_unit_of_measure


def test_user_factory_grants_perms_and_groups():
    user = factories.UserFactory(perms=["erp.view_customer"], groups=["Sales"])
    assert user.has_perm("erp.view_customer")
    assert user.has_perm("erp.add_salesheader")
    assert not user.has_perm("erp.delete_customer")
    assert user.check_password(factories.TEST_PASSWORD)


def test_user_factory_refuses_unknown_group():
    with pytest.raises(Group.DoesNotExist):
        factories.UserFactory(groups=["No such group"])


def test_user_factory_recreates_groups_a_flush_removed():
    Group.objects.filter(name="Sales").delete()
    user = factories.UserFactory(groups=["Sales"])
    assert user.has_perm("erp.change_contact")
    assert user.has_perm("erp.add_itemledgerentry")  # the groups as a new database gets them
