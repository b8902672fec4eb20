"""Saving mappings: validation in plain words, dependency cycles, the direction rewrite rule."""

import uuid

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from odata_query.exceptions import ODataException
from odata_query.grammar import ODataLexer, ODataParser

from coupling.models import OptionCoupling
from erp.models import PaymentTerms
from syncjobs.mappings import services
from syncjobs.models import Direction, IntegrationFieldMapping, IntegrationTableMapping

pytestmark = pytest.mark.django_db


def mapping(name: str) -> IntegrationTableMapping:
    return IntegrationTableMapping.objects.get(name=name)


def field(mapping_name: str, name: str) -> IntegrationFieldMapping:
    return mapping(mapping_name).field_mappings.get(name=name)


def refusal(call) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        call()
    return caught.value.message_dict


# --- table mappings -------------------------------------------------------------------------------


def test_an_erp_filter_on_a_field_the_table_lacks_is_refused():
    customer = mapping("CUSTOMER")
    customer.erp_filter = {"blokked": ""}
    errors = refusal(lambda: services.mapping_save(mapping=customer))
    assert "does not fit the customer table" in errors["erp_filter"][0]
    assert "blokked" in errors["erp_filter"][0]
    assert mapping("CUSTOMER").erp_filter == {"blocked": ""}


def test_an_erp_filter_value_the_field_cannot_take_is_refused():
    item = mapping("ITEM-PRODUCT")
    item.erp_filter = {"blocked": "perhaps"}
    errors = refusal(lambda: services.mapping_save(mapping=item))
    assert "cannot compare with" in errors["erp_filter"][0]
    item.erp_filter = ["blocked"]
    assert "JSON object" in refusal(lambda: services.mapping_save(mapping=item))["erp_filter"][0]


def test_a_crm_filter_that_is_not_odata_is_refused_saying_where_not_with_the_parsers_tokens():
    bad = "statecode eq 0 and and customertypecode eq 3"
    with pytest.raises(ODataException) as parser:
        ODataParser().parse(ODataLexer().tokenize(bad))
    customer = mapping("CUSTOMER")
    customer.crm_filter = bad
    message = refusal(lambda: services.mapping_save(mapping=customer))["crm_filter"][0]
    assert message.startswith("The CRM filter is not a valid OData $filter expression: look near “")
    assert "Token(" in str(parser.value) and "Token(" not in message
    assert "For example: statecode eq 0" in message
    customer.crm_filter = "name eq 'Contoso"  # an unclosed quote: the lexer's refusal
    message = refusal(lambda: services.mapping_save(mapping=customer))["crm_filter"][0]
    assert "near “'Contoso”" in message and "Token(" not in message


def test_a_valid_crm_filter_and_erp_filter_are_saved():
    customer = mapping("CUSTOMER")
    customer.crm_filter = "statecode eq 0 and (customertypecode eq 3 or customertypecode eq 11)"
    customer.erp_filter = {"blocked__in": ["", "ship"]}
    services.mapping_save(mapping=customer)
    saved = mapping("CUSTOMER")
    assert saved.crm_filter.endswith("customertypecode eq 11)")
    assert saved.erp_filter == {"blocked__in": ["", "ship"]}


def test_a_dependency_cycle_is_refused_naming_the_mapping_that_closes_it():
    currency = mapping("CURRENCY")
    errors = refusal(lambda: services.mapping_save(mapping=currency, depends_on=[mapping("CONTACT")]))
    assert errors["depends_on"] == [
        "CURRENCY cannot depend on CONTACT: it depends on CURRENCY already, so neither could be synchronized first."
    ]
    assert not currency.depends_on.exists()


def test_a_mapping_cannot_depend_on_itself():
    customer = mapping("CUSTOMER")
    errors = refusal(lambda: services.mapping_save(mapping=customer, depends_on=[customer]))
    assert errors["depends_on"] == ["CUSTOMER cannot depend on itself."]


def test_dependencies_without_a_cycle_are_saved():
    resource = mapping("RESOURCE-PRODUCT")
    services.mapping_save(mapping=resource, depends_on=[mapping("UNIT OF MEASURE"), mapping("ITEM-PRODUCT")])
    assert {d.name for d in resource.depends_on.all()} == {"UNIT OF MEASURE", "ITEM-PRODUCT"}


def test_an_option_mapping_cannot_be_bidirectional():
    terms = mapping("PAYMENT TERMS")
    terms.direction = Direction.BIDIRECTIONAL
    errors = refusal(lambda: services.mapping_save(mapping=terms))
    assert errors["direction"] == ["An option mapping cannot be bidirectional: choose to or from Dynamics 365."]
    with pytest.raises(IntegrityError), transaction.atomic():
        IntegrationTableMapping.objects.filter(pk=terms.pk).update(direction=Direction.BIDIRECTIONAL)


def test_an_option_mapping_needs_its_option_set_and_others_have_none():
    terms = mapping("PAYMENT TERMS")
    terms.crm_option_attribute = ""
    assert "crm_option_attribute" in refusal(lambda: services.mapping_save(mapping=terms))
    customer = mapping("CUSTOMER")
    customer.crm_option_attribute = "paymenttermscode"
    assert refusal(lambda: services.mapping_save(mapping=customer))["crm_option_attribute"] == [
        "Only an option mapping has an option set attribute."
    ]


def test_making_a_mapping_one_way_rewrites_its_field_directions():
    customer = mapping("CUSTOMER")
    customer.direction = Direction.FROM_CRM
    services.mapping_save(mapping=customer)
    assert set(customer.field_mappings.values_list("direction", flat=True)) == {Direction.FROM_CRM}
    customer.direction = Direction.BIDIRECTIONAL
    services.mapping_save(mapping=customer)
    assert set(customer.field_mappings.values_list("direction", flat=True)) == {Direction.FROM_CRM}


def test_an_option_mapping_turned_around_takes_its_fields_along():
    agent = mapping("SHIPPING AGENT")
    agent.direction = Direction.FROM_CRM
    services.mapping_save(mapping=agent)
    assert field("SHIPPING AGENT", "label").direction == Direction.FROM_CRM


def test_changing_the_scope_clears_the_engines_watermarks_other_edits_keep_them():
    now = timezone.now()
    IntegrationTableMapping.objects.update(erp_watermark=now, crm_watermark=now, crm_delta_link="https://x/delta")
    customer = mapping("CUSTOMER")
    customer.deletion_policy = IntegrationTableMapping.DeletionPolicy.DECOUPLE
    services.mapping_save(mapping=customer)
    assert mapping("CUSTOMER").erp_watermark == now
    customer.erp_filter = {"blocked__in": ["", "ship"]}
    services.mapping_save(mapping=customer)
    saved = mapping("CUSTOMER")
    assert (saved.erp_watermark, saved.crm_watermark, saved.crm_delta_link) == (None, None, "")
    assert saved.deletion_policy == IntegrationTableMapping.DeletionPolicy.DECOUPLE


def test_enable_and_disable():
    services.mapping_set_enabled(mapping=mapping("CONTACT"), enabled=False)
    assert not mapping("CONTACT").is_enabled
    services.mapping_set_enabled(mapping=mapping("CONTACT"), enabled=True)
    assert mapping("CONTACT").is_enabled


# --- field mappings -------------------------------------------------------------------------------


def test_an_unknown_erp_field_is_refused():
    name = field("CUSTOMER", "name")
    name.erp_field = "nmae"
    assert refusal(lambda: services.field_mapping_save(field_mapping=name))["erp_field"] == [
        "The ERP table customer has no field “nmae”."
    ]
    name.erp_field = "name__upper"
    assert "is not a reference" in refusal(lambda: services.field_mapping_save(field_mapping=name))["erp_field"][0]
    name.erp_field = "sales_orders"
    assert "list of records" in refusal(lambda: services.field_mapping_save(field_mapping=name))["erp_field"][0]


def test_a_field_path_through_references_is_accepted():
    parent = field("CONTACT", "parentcustomerid")
    parent.erp_field = "company__customer__salesperson"
    services.field_mapping_save(field_mapping=parent)
    assert field("CONTACT", "parentcustomerid").erp_field == "company__customer__salesperson"


def test_the_crm_attribute_is_checked_when_the_caller_has_the_crms_attributes():
    name = field("CUSTOMER", "name")
    name.crm_attribute = "nmae"
    services.field_mapping_save(field_mapping=name)
    errors = refusal(lambda: services.field_mapping_save(field_mapping=name, crm_attributes={"name", "telephone1"}))
    assert errors["crm_attribute"] == ["The CRM entity account has no attribute “nmae”."]


def test_a_field_cannot_go_against_a_one_way_table():
    symbol = field("CURRENCY", "currencysymbol")
    symbol.direction = Direction.FROM_CRM
    assert refusal(lambda: services.field_mapping_save(field_mapping=symbol))["direction"] == [
        "CURRENCY synchronizes only to Dynamics 365, so its fields cannot go the other way."
    ]


def test_a_constant_goes_one_way_and_needs_its_target():
    method = field("SALESPRC-PRODPRICE", "pricingmethodcode")
    method.direction = Direction.FROM_CRM
    errors = refusal(lambda: services.field_mapping_save(field_mapping=method))
    assert "erp_field" in errors
    contact_type = field("CONTACT", "type")
    contact_type.direction = Direction.BIDIRECTIONAL
    errors = refusal(lambda: services.field_mapping_save(field_mapping=contact_type))
    assert errors["constant_value"] == ["A constant goes one way: choose to or from Dynamics 365."]


def test_a_lookup_needs_its_mapping_and_navigation_property():
    owner = field("CUSTOMER", "ownerid")
    owner.lookup_mapping = None
    owner.crm_navigation_property = ""
    errors = refusal(lambda: services.field_mapping_save(field_mapping=owner))
    assert set(errors) >= {"lookup_mapping", "crm_navigation_property"}


def test_matching_needs_values_on_both_sides():
    method = field("SALESPRC-PRODPRICE", "pricingmethodcode")
    method.use_for_match_based_coupling = True
    assert "use_for_match_based_coupling" in refusal(lambda: services.field_mapping_save(field_mapping=method))


def test_an_option_mapping_field_maps_to_the_options_label_or_value():
    label = field("PAYMENT TERMS", "label")
    label.crm_attribute = "paymenttermscode"
    assert "label or value" in refusal(lambda: services.field_mapping_save(field_mapping=label))["crm_attribute"][0]


def test_edits_to_a_field_mapping_are_saved():
    email = field("CONTACT", "emailaddress1")
    email.direction = Direction.TO_CRM
    email.case_sensitive_matching = True
    email.match_priority = 3
    email.is_enabled = False
    services.field_mapping_save(field_mapping=email)
    saved = field("CONTACT", "emailaddress1")
    assert (saved.direction, saved.case_sensitive_matching, saved.match_priority, saved.is_enabled) == (
        Direction.TO_CRM,
        True,
        3,
        False,
    )


# --- option couplings -----------------------------------------------------------------------------


def test_an_option_value_couples_to_one_record_and_a_record_to_one_value_per_option_set():
    content_type = ContentType.objects.get_for_model(PaymentTerms)
    first, second = uuid.uuid4(), uuid.uuid4()
    OptionCoupling.objects.create(
        erp_model=content_type,
        erp_system_id=first,
        crm_entity="account",
        crm_attribute="paymenttermscode",
        option_value=1,
    )
    OptionCoupling.objects.create(
        erp_model=content_type,
        erp_system_id=first,
        crm_entity="salesorder",
        crm_attribute="paymenttermscode",
        option_value=1,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        OptionCoupling.objects.create(
            erp_model=content_type,
            erp_system_id=second,
            crm_entity="account",
            crm_attribute="paymenttermscode",
            option_value=1,
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        OptionCoupling.objects.create(
            erp_model=content_type,
            erp_system_id=first,
            crm_entity="account",
            crm_attribute="paymenttermscode",
            option_value=2,
        )


@pytest.mark.parametrize(
    ("direction", "job_direction"),
    [("to_crm", "to_crm"), ("from_crm", "from_crm"), ("bidirectional", "both")],
)
def test_a_mapping_names_the_direction_of_its_jobs(direction, job_direction):
    assert IntegrationTableMapping(direction=direction).job_direction == job_direction
