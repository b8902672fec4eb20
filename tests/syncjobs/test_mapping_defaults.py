"""The default integration table mappings: what they are, their order, and resetting to them."""

import pytest
from django.contrib.contenttypes.models import ContentType

from coupling.models import Coupling
from crm_sandbox import metadata
from erp.models import Customer
from syncjobs.mappings import defaults, services
from syncjobs.mappings import selectors as mapping_selectors
from syncjobs.mappings.services import _field_mapping_errors
from syncjobs.models import Direction, IntegrationFieldMapping, IntegrationTableMapping
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

ISSUE_MAPPINGS = {
    "SALESPEOPLE": ("salesperson", "systemuser"),
    "CUSTOMER": ("customer", "account"),
    "CONTACT": ("contact", "contact"),
    "CURRENCY": ("currency", "transactioncurrency"),
    "UNIT OF MEASURE": ("unitofmeasure", "uomschedule"),
    "ITEM-PRODUCT": ("item", "product"),
    "RESOURCE-PRODUCT": ("resource", "product"),
    "CUSTPRCGRP-PRICE": ("customerpricegroup", "pricelevel"),
    "SALESPRC-PRODPRICE": ("salesprice", "productpricelevel"),
    "PAYMENT TERMS": ("paymentterms", "account"),
    "SHIPMENT METHOD": ("shipmentmethod", "account"),
    "SHIPPING AGENT": ("shippingagent", "account"),
}
DEPENDENCIES = {
    "CUSTOMER": {"SALESPEOPLE", "CURRENCY", "PAYMENT TERMS", "SHIPMENT METHOD", "SHIPPING AGENT"},
    "CONTACT": {"CUSTOMER"},
    "ITEM-PRODUCT": {"UNIT OF MEASURE"},
    "RESOURCE-PRODUCT": {"UNIT OF MEASURE"},
    "CUSTPRCGRP-PRICE": {"CURRENCY", "ITEM-PRODUCT"},
    "SALESPRC-PRODPRICE": {"CUSTPRCGRP-PRICE", "ITEM-PRODUCT"},
}


def mapping(name: str) -> IntegrationTableMapping:
    return IntegrationTableMapping.objects.get(name=name)


def fields_of(name: str) -> dict[str, IntegrationFieldMapping]:
    return {field.name: field for field in mapping(name).field_mappings.all()}


def test_the_migration_installs_every_mapping_of_the_issue_with_its_tables():
    installed = {m.name: (m.erp_model.model, m.crm_entity) for m in IntegrationTableMapping.objects.all()}
    assert installed == ISSUE_MAPPINGS
    assert {m.erp_model.app_label for m in IntegrationTableMapping.objects.all()} == {"erp"}


def test_dependencies_are_the_ones_the_reference_lists():
    for item in IntegrationTableMapping.objects.all():
        assert {d.name for d in item.depends_on.all()} == DEPENDENCIES.get(item.name, set()), item.name


def test_directions_and_option_mappings():
    assert mapping("SALESPEOPLE").direction == Direction.FROM_CRM
    assert mapping("CUSTOMER").direction == Direction.BIDIRECTIONAL
    assert mapping("CURRENCY").direction == Direction.TO_CRM
    options = IntegrationTableMapping.objects.filter(is_option_mapping=True)
    assert {m.name: m.crm_option_attribute for m in options} == {
        "PAYMENT TERMS": "paymenttermscode",
        "SHIPMENT METHOD": "address1_freighttermscode",
        "SHIPPING AGENT": "address1_shippingmethodcode",
    }
    for option in options:
        assert option.direction == Direction.TO_CRM
        assert option.create_new_if_no_match
        (code,) = option.field_mappings.all()
        assert (code.erp_field, code.crm_attribute, code.direction) == ("code", "label", Direction.TO_CRM)
        assert code.use_for_match_based_coupling


def test_customer_field_mappings():
    fields = fields_of("CUSTOMER")
    assert fields["name"].erp_field == "name"
    assert fields["name"].direction == Direction.BIDIRECTIONAL
    assert fields["name"].transform == IntegrationFieldMapping.Transform.TRIM
    owner = fields["ownerid"]
    assert (owner.erp_field, owner.direction, owner.not_null) == ("salesperson", Direction.TO_CRM, True)
    assert owner.transform == IntegrationFieldMapping.Transform.LOOKUP
    assert owner.lookup_mapping == mapping("SALESPEOPLE")
    assert fields["transactioncurrencyid"].lookup_mapping == mapping("CURRENCY")
    assert fields["creditlimit"].direction == Direction.TO_CRM
    assert fields["paymenttermscode"].erp_field == "payment_terms"
    assert fields["paymenttermscode"].transform == IntegrationFieldMapping.Transform.OPTION
    assert {"address1_line1", "address1_city", "address1_postalcode", "telephone1", "emailaddress1"} <= set(fields)
    assert "fax" not in fields


def test_other_spot_checks():
    salespeople = fields_of("SALESPEOPLE")
    assert {f.direction for f in salespeople.values()} == {Direction.FROM_CRM}
    assert salespeople["fullname"].erp_field == "name"
    contact = fields_of("CONTACT")
    assert contact["parentcustomerid"].crm_navigation_property == "parentcustomerid_account"
    assert (contact["type"].constant_value, contact["type"].direction) == ("person", Direction.FROM_CRM)
    price = fields_of("SALESPRC-PRODPRICE")
    assert price["pricingmethodcode"].constant_value == "1"
    assert price["pricelevelid"].lookup_erp_key == "code"
    assert mapping("CUSTOMER").erp_filter == {"blocked": ""}
    assert mapping("SALESPRC-PRODPRICE").erp_filter == {"sales_type": "customer_price_group", "sales_code__gt": ""}


def test_every_default_passes_the_validation_the_pages_apply():
    for table in IntegrationTableMapping.objects.all():
        table.full_clean()
        for field in table.field_mappings.all():
            field.full_clean()
            assert _field_mapping_errors(field, None) == {}, (table.name, field.name)


def test_default_crm_names_are_dataverse_names_the_sandbox_declares():
    missing = []
    for default in defaults.DEFAULTS:
        entity = metadata.entity_by_logical_name(default.crm_entity)
        assert entity.set_name == default.crm_entity_set
        if default.is_option_mapping:
            attribute = (default.crm_entity, default.crm_option_attribute)
            if default.crm_option_attribute not in entity.attribute_map:
                missing.append(attribute)
            continue
        assert entity.primary_id == default.crm_primary_key
        for field in default.fields:
            if field.crm_attribute and field.crm_attribute not in entity.attribute_map:
                missing.append((default.crm_entity, field.crm_attribute))
            if field.crm_navigation_property:
                assert field.crm_navigation_property in entity.navigation_map, field
    assert missing == []


def test_dependency_order_puts_dependencies_first_and_breaks_ties_by_priority():
    order = [m.name for m in mapping_selectors.mapping_dependency_order()]
    assert order == [
        "SALESPEOPLE",
        "CURRENCY",
        "UNIT OF MEASURE",
        "PAYMENT TERMS",
        "SHIPMENT METHOD",
        "SHIPPING AGENT",
        "CUSTOMER",
        "CONTACT",
        "ITEM-PRODUCT",
        "RESOURCE-PRODUCT",
        "CUSTPRCGRP-PRICE",
        "SALESPRC-PRODPRICE",
    ]
    assert [m.name for m in mapping_selectors.integration_mappings()] == order


def test_dependency_order_follows_dependencies_over_priority():
    mapping("UNIT OF MEASURE").depends_on.add(mapping("CONTACT"))
    order = [m.name for m in mapping_selectors.mapping_dependency_order()]
    assert order.index("CUSTOMER") < order.index("CONTACT") < order.index("UNIT OF MEASURE")
    assert order.index("UNIT OF MEASURE") < order.index("ITEM-PRODUCT")


def test_dependency_order_lists_every_mapping_even_around_a_cycle_written_past_the_services():
    mapping("CURRENCY").depends_on.add(mapping("CONTACT"))
    order = [m.name for m in mapping_selectors.mapping_dependency_order()]
    assert sorted(order) == sorted(ISSUE_MAPPINGS)
    assert order[0] == "SALESPEOPLE"


def test_dependency_order_can_leave_out_disabled_mappings():
    services.mapping_set_enabled(mapping=mapping("RESOURCE-PRODUCT"), enabled=False)
    assert "RESOURCE-PRODUCT" not in [m.name for m in mapping_selectors.mapping_dependency_order(enabled_only=True)]
    assert "RESOURCE-PRODUCT" in [m.name for m in mapping_selectors.mapping_dependency_order()]


def test_reset_restores_edited_values_and_keeps_ids_and_couplings():
    customer = mapping("CUSTOMER")
    ids_before = {m.name: m.pk for m in IntegrationTableMapping.objects.all()}
    customer.direction = Direction.TO_CRM
    customer.crm_filter = "statecode eq 1"
    customer.is_enabled = False
    customer.deletion_policy = IntegrationTableMapping.DeletionPolicy.PROPAGATE
    services.mapping_save(mapping=customer, depends_on=[mapping("CURRENCY")])
    name_field = customer.field_mappings.get(name="name")
    name_field.is_enabled = False
    name_field.save()
    customer.field_mappings.get(name="telephone1").delete()
    IntegrationFieldMapping.objects.create(table_mapping=customer, name="extra", erp_field="no", crm_attribute="x")
    record = CustomerFactory()
    coupling = Coupling.objects.create(
        erp_model=ContentType.objects.get_for_model(Customer),
        erp_system_id=record.system_id,
        crm_entity="account",
        crm_id="6f1d1f8e-3b7e-4d4a-9c7a-2f0a1d2b3c4d",
    )

    services.mapping_reset_to_defaults()
    services.mapping_reset_to_defaults()

    customer = mapping("CUSTOMER")
    assert customer.direction == Direction.BIDIRECTIONAL
    assert customer.crm_filter == "statecode eq 0 and customertypecode eq 3"
    assert customer.is_enabled
    assert customer.deletion_policy == IntegrationTableMapping.DeletionPolicy.REPORT
    assert {d.name for d in customer.depends_on.all()} == DEPENDENCIES["CUSTOMER"]
    fields = fields_of("CUSTOMER")
    assert fields["name"].is_enabled and fields["name"].direction == Direction.BIDIRECTIONAL
    assert "telephone1" in fields and "extra" not in fields
    assert {m.name: m.pk for m in IntegrationTableMapping.objects.all()} == ids_before
    assert IntegrationFieldMapping.objects.count() == sum(len(d.fields) for d in defaults.DEFAULTS)
    assert Coupling.objects.filter(pk=coupling.pk).exists()


def test_reset_keeps_watermarks_unless_the_scope_changed():
    from django.utils import timezone

    now = timezone.now()
    IntegrationTableMapping.objects.update(erp_watermark=now, crm_watermark=now, crm_delta_link="https://x/delta")
    IntegrationTableMapping.objects.filter(name="CONTACT").update(crm_filter="statecode eq 1")
    services.mapping_reset_to_defaults()
    assert mapping("CUSTOMER").erp_watermark == now
    assert mapping("CUSTOMER").crm_delta_link == "https://x/delta"
    contact = mapping("CONTACT")
    assert (contact.erp_watermark, contact.crm_watermark, contact.crm_delta_link) == (None, None, "")


def test_reset_recreates_deleted_mappings_and_keeps_mappings_of_ones_own():
    mapping("SALESPRC-PRODPRICE").delete()
    own = IntegrationTableMapping.objects.create(
        name="MY SALES ORDERS",
        title="Orders",
        erp_model=ContentType.objects.get(app_label="erp", model="salesheader"),
        crm_entity="salesorder",
        crm_entity_set="salesorders",
    )
    services.mapping_reset_to_defaults()
    assert fields_of("SALESPRC-PRODPRICE")["amount"].erp_field == "unit_price"
    assert IntegrationTableMapping.objects.filter(pk=own.pk).exists()
