"""How messages and pages name a record."""

from erp.models import Customer
from nav_crm.records import describe_record


def test_a_record_is_named_by_its_kind_and_itself():
    customer = Customer(no="C00010", name="Adatum")
    assert describe_record(customer) == "customer C00010 Adatum"
    assert describe_record(customer, capitalize=True) == "Customer C00010 Adatum"
