"""Sync administrators may set up the CRM connection.

Permissions are created by a post_migrate handler, after every migration ran, so on a fresh
database this one does not exist yet here: create it first.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Sync administrators"
CODENAME = "manage_connection"


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
    group.permissions.add(
        Permission.objects.using(using).get(content_type__app_label="syncjobs", codename=CODENAME)
    )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    using = schema_editor.connection.alias
    for group in Group.objects.using(using).filter(name=GROUP):
        group.permissions.remove(
            *Permission.objects.using(using).filter(content_type__app_label="syncjobs", codename=CODENAME)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("syncjobs", "0001_initial"),
        ("erp", "0002_groups"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
