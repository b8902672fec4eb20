"""What the data migrations share. Imports no model: a migration works on the historical ``apps`` it is given."""

from collections.abc import Iterable, Mapping

from django.contrib.auth.management import create_permissions


def create_app_permissions(apps, app_label: str, *, using: str) -> None:
    """Create the permissions of ``app_label`` now.

    Permissions are created by a post_migrate handler, after every migration ran, so on a fresh
    database they do not exist yet when a migration wants to grant them.
    """
    app_config = apps.get_app_config(app_label)
    models_module = getattr(app_config, "models_module", None)
    # create_permissions skips app configs without a models module, which is how historical ones look.
    app_config.models_module = models_module or True
    try:
        create_permissions(app_config, verbosity=0, using=using, apps=apps)
    finally:
        app_config.models_module = models_module


def _permissions(apps, using: str, app_label: str, codenames: Iterable[str]):
    Permission = apps.get_model("auth", "Permission")
    return Permission.objects.using(using).filter(content_type__app_label=app_label, codename__in=list(codenames))


def grant(apps, schema_editor, *, app_label: str, grants: Mapping[str, Iterable[str]]) -> None:
    """Give each group (created when missing) its permissions of ``app_label``: ``{group name: codenames}``.

    Idempotent. A codename that names no permission is an error. ``schema_editor`` may be None
    (tests call a migration's function again after a transactional test flushed the tables).
    """
    using = schema_editor.connection.alias if schema_editor else "default"
    create_app_permissions(apps, app_label, using=using)
    Group = apps.get_model("auth", "Group")
    for name, codenames in grants.items():
        codenames = list(codenames)
        permissions = list(_permissions(apps, using, app_label, codenames))
        missing = set(codenames) - {permission.codename for permission in permissions}
        if missing:
            raise RuntimeError(f"Permissions missing for group {name}: {sorted(missing)}")
        group, _ = Group.objects.using(using).get_or_create(name=name)
        group.permissions.add(*permissions)


def revoke(apps, schema_editor, *, app_label: str, grants: Mapping[str, Iterable[str]]) -> None:
    """Take back what ``grant`` gave; the groups stay."""
    using = schema_editor.connection.alias if schema_editor else "default"
    Group = apps.get_model("auth", "Group")
    for name, codenames in grants.items():
        for group in Group.objects.using(using).filter(name=name):
            group.permissions.remove(*_permissions(apps, using, app_label, codenames))
