"""Sync administrators may manage the integration mappings; the default mappings are installed.

Permissions are created by a post_migrate handler after every migration ran, so on a fresh
database this one does not exist yet here: create it first.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Sync administrators"
CODENAME = "manage_mappings"


def grant(apps, schema_editor):
    using = schema_editor.connection.alias
    app_config = apps.get_app_config("syncjobs")
    models_module = getattr(app_config, "models_module", None)
    # create_permissions skips app configs without a models module, which is how historical ones look.
    app_config.models_module = models_module or True
    try:
        create_permissions(app_config, verbosity=0, using=using, apps=apps)
    finally:
        app_config.models_module = models_module
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.using(using).get_or_create(name=GROUP)
    group.permissions.add(Permission.objects.using(using).get(content_type__app_label="syncjobs", codename=CODENAME))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    using = schema_editor.connection.alias
    for group in Group.objects.using(using).filter(name=GROUP):
        group.permissions.remove(
            *Permission.objects.using(using).filter(content_type__app_label="syncjobs", codename=CODENAME)
        )


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
