"""Writes the default mappings (``defaults.DEFAULTS``) through whichever model classes it is given.

Shared by ``mapping_reset_to_defaults`` and the data migration that installs the defaults (which
passes historical models). Idempotent: a mapping keeps its primary key and the engine's
watermarks unless its scope (filters, direction) changes, its field mappings keep their names
(the keys of ``Coupling.snapshot``), and couplings are never touched. Mappings that are not
defaults are left alone.
"""

from syncjobs.mappings.defaults import DEFAULTS, TableDefault

SCOPE_FIELDS = ("direction", "erp_filter", "crm_filter")
ENGINE_STATE_CLEARED = {"erp_watermark": None, "crm_watermark": None, "crm_delta_link": ""}


def _table_values(default: TableDefault, content_type) -> dict:
    return {
        "title": default.title,
        "erp_model": content_type,
        "crm_entity": default.crm_entity,
        "crm_entity_set": default.crm_entity_set,
        "crm_primary_key": default.crm_primary_key,
        "direction": default.direction,
        "erp_filter": dict(default.erp_filter),
        "crm_filter": default.crm_filter,
        "sync_only_coupled": True,
        "update_conflict_policy": "report",
        "deletion_policy": "report",
        "create_new_if_no_match": default.create_new_if_no_match,
        "sync_after_bulk_coupling": True,
        "is_enabled": True,
        "is_option_mapping": default.is_option_mapping,
        "crm_option_attribute": default.crm_option_attribute,
        "sync_interval_minutes": 30,
        "inactivity_timeout_minutes": default.inactivity_timeout_minutes,
        "priority": default.priority,
    }


def write_defaults(*, mapping_model, field_model, content_type_model) -> list:
    mappings = {}
    for default in DEFAULTS:
        app_label, model_name = default.erp_model.split(".")
        content_type, _ = content_type_model.objects.get_or_create(app_label=app_label, model=model_name)
        values = _table_values(default, content_type)
        mapping = mapping_model.objects.filter(name=default.name).first()
        if mapping is None:
            mapping = mapping_model.objects.create(name=default.name, **values)
        else:
            if any(getattr(mapping, name) != values[name] for name in SCOPE_FIELDS):
                values.update(ENGINE_STATE_CLEARED)
            for name, value in values.items():
                setattr(mapping, name, value)
            mapping.save()
        mappings[default.name] = mapping

    for default in DEFAULTS:
        mapping = mappings[default.name]
        mapping.depends_on.set([mappings[name] for name in default.depends_on])
        keys = []
        for position, field in enumerate(default.fields, start=1):
            keys.append(field.key)
            field_model.objects.update_or_create(
                table_mapping=mapping,
                name=field.key,
                defaults={
                    "position": position * 10,
                    "erp_field": field.erp_field,
                    "crm_attribute": field.crm_attribute,
                    "crm_navigation_property": field.crm_navigation_property,
                    "lookup_mapping": mappings[field.lookup_mapping] if field.lookup_mapping else None,
                    "lookup_erp_key": field.lookup_erp_key,
                    "direction": field.direction,
                    "constant_value": field.constant_value,
                    "transform": field.transform,
                    "validate_field": True,
                    "clear_value_on_failed_sync": field.clear_value_on_failed_sync,
                    "not_null": field.not_null,
                    "use_for_match_based_coupling": field.use_for_match_based_coupling,
                    "match_priority": field.match_priority,
                    "case_sensitive_matching": False,
                    "is_enabled": True,
                },
            )
        field_model.objects.filter(table_mapping=mapping).exclude(name__in=keys).delete()
    return list(mappings.values())
