"""Sync administrators may manage the integration mappings; the default mappings are installed.

Permissions are created by a post_migrate handler after every migration ran, so on a fresh
database this one does not exist yet here: create it first.
"""

from django.db import migrations

from nav_crm import migration_helpers

GRANTS = {"Sync administrators": ["manage_mappings"]}


def grant(apps, schema_editor):
    migration_helpers.grant(apps, schema_editor, app_label="syncjobs", grants=GRANTS)


def revoke(apps, schema_editor):
    migration_helpers.revoke(apps, schema_editor, app_label="syncjobs", grants=GRANTS)


def install_defaults(apps, schema_editor):
    from syncjobs.mappings.install import write_defaults

    write_defaults(
        mapping_model=apps.get_model("syncjobs", "IntegrationTableMapping"),
        field_model=apps.get_model("syncjobs", "IntegrationFieldMapping"),
        content_type_model=apps.get_model("contenttypes", "ContentType"),
    )


def remove_defaults(apps, schema_editor):
    apps.get_model("syncjobs", "IntegrationTableMapping").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("syncjobs", "0003_integration_mappings"),
        ("syncjobs", "0002_sync_administrators_manage_connection"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(grant, revoke),
        migrations.RunPython(install_defaults, remove_defaults),
    ]
