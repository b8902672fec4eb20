"""Tables of the CRM sandbox (database alias ``crm_sandbox``).

Each Dataverse entity gets one real table, generated from metadata.py, so that ``$filter`` runs
as indexed SQL. Column names are the attribute logical names; a lookup is a UUID column named
after the lookup attribute (plus ``<name>type`` for lookups with several targets).
"""

from django.apps.registry import Apps
from django.db import models

from crm_sandbox import metadata

DECIMAL_DIGITS = 28
DECIMAL_PLACES = 10
# Strings above this length are stored as TEXT (SQL varchar limits differ between databases).
LONGEST_VARCHAR = 4000


def _field_for(entity: metadata.Entity, attribute: metadata.Attribute) -> models.Field:
    if attribute.name == entity.primary_id:
        return models.UUIDField(primary_key=True)
    if attribute.type in metadata.STRING_TYPES:
        if attribute.max_length and attribute.max_length <= LONGEST_VARCHAR:
            return models.CharField(
                max_length=attribute.max_length, null=True, db_index=attribute.name == entity.primary_name
            )
        return models.TextField(null=True)
    if attribute.is_lookup:
        return models.UUIDField(null=True, db_index=True)
    if attribute.type in metadata.OPTION_TYPES:
        return models.IntegerField(null=True, db_index=attribute.type == "State")
    simple = {
        "Integer": lambda: models.IntegerField(null=True),
        "BigInt": lambda: models.BigIntegerField(null=True, db_index=attribute.name == "versionnumber"),
        "Decimal": lambda: models.DecimalField(max_digits=DECIMAL_DIGITS, decimal_places=DECIMAL_PLACES, null=True),
        "Money": lambda: models.DecimalField(max_digits=DECIMAL_DIGITS, decimal_places=DECIMAL_PLACES, null=True),
        "Double": lambda: models.FloatField(null=True),
        "Boolean": lambda: models.BooleanField(null=True),
        "DateTime": lambda: models.DateTimeField(null=True, db_index=attribute.name == "modifiedon"),
        "Uniqueidentifier": lambda: models.UUIDField(null=True),
    }
    return simple[attribute.type]()


def _model_name(entity: metadata.Entity) -> str:
    return "Crm" + entity.logical_name.capitalize()


def build_model(entity: metadata.Entity, registry: Apps | None = None) -> type[models.Model]:
    """The table of an entity. Entities created at run time (solution imports) get their own
    registry, so they never enter migrations and can be rebuilt when a solution adds columns."""
    body: dict = {"__module__": __name__}
    for attribute in entity.attributes:
        body[attribute.name] = _field_for(entity, attribute)
        if attribute.is_polymorphic:
            body[attribute.type_column] = models.CharField(max_length=64, null=True)
    constraints = [
        models.UniqueConstraint(fields=list(columns), name=f"crm_{entity.logical_name}_{key}_key")
        for key, columns in entity.alternate_keys.items()
    ]
    meta = {"db_table": f"crm_{entity.logical_name}", "constraints": constraints, "verbose_name": entity.title}
    if registry is not None:
        meta.update(apps=registry, app_label="crm_sandbox")
    body["Meta"] = type("Meta", (), meta)
    return type(_model_name(entity), (models.Model,), body)


ENTITY_MODELS: dict[str, type[models.Model]] = {}
for _entity in metadata.ENTITIES:
    ENTITY_MODELS[_entity.logical_name] = build_model(_entity)
    globals()[_model_name(_entity)] = ENTITY_MODELS[_entity.logical_name]


def model_for(entity: metadata.Entity) -> type[models.Model]:
    return ENTITY_MODELS[entity.logical_name]


class SystemUserRoles(models.Model):
    """The systemuser ↔ role intersect table (N:N systemuserroles_association)."""

    systemuserroleid = models.UUIDField(primary_key=True)
    systemuserid = models.UUIDField(db_index=True)
    roleid = models.UUIDField(db_index=True)

    class Meta:
        db_table = "crm_systemuserroles"
        constraints = [models.UniqueConstraint(fields=["systemuserid", "roleid"], name="crm_systemuserroles_pair")]

    def __str__(self):
        return f"{self.systemuserid} ↔ {self.roleid}"


INTERSECT_MODELS: dict[str, type[models.Model]] = {"systemuserroles": SystemUserRoles}


class ChangeLog(models.Model):
    """Append-only log of every write. Its id is the global row version (versionnumber, ETag)."""

    UPSERT = "U"
    DELETE = "D"

    version = models.BigAutoField(primary_key=True)
    entity = models.CharField(max_length=64)
    record_id = models.UUIDField()
    operation = models.CharField(max_length=1, choices=[(UPSERT, "new or updated"), (DELETE, "deleted")])
    changed_on = models.DateTimeField()

    class Meta:
        db_table = "crm_changelog"
        indexes = [models.Index(fields=["entity", "version"], name="crm_changelog_entity_version")]

    def __str__(self):
        return f"{self.version}: {self.operation} {self.entity}({self.record_id})"


class AppRegistration(models.Model):
    """An Entra app registration (client id + secret) bound to an application user."""

    client_id = models.UUIDField(primary_key=True)
    name = models.CharField(max_length=200)
    secret_hash = models.CharField(max_length=256)
    systemuserid = models.UUIDField()

    class Meta:
        db_table = "crm_appregistration"

    def __str__(self):
        return f"{self.name} ({self.client_id})"


class UserCredential(models.Model):
    """The password of an interactive user, for the resource-owner password grant."""

    systemuserid = models.UUIDField(primary_key=True)
    username = models.CharField(max_length=1024, unique=True)
    password_hash = models.CharField(max_length=256)

    class Meta:
        db_table = "crm_usercredential"

    def __str__(self):
        return self.username


class AccessToken(models.Model):
    """An issued bearer token, stored as a SHA-256 digest (tokens are random and opaque)."""

    token_hash = models.CharField(max_length=64, primary_key=True)
    systemuserid = models.UUIDField()
    client_id = models.CharField(max_length=64)
    expires_on = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "crm_accesstoken"

    def __str__(self):
        return f"token of {self.systemuserid} until {self.expires_on:%Y-%m-%d %H:%M}"


class CustomEntity(models.Model):
    """An entity a solution import created; its declaration, so it is rebuilt after a restart."""

    logical_name = models.CharField(max_length=64, primary_key=True)
    solution_uniquename = models.CharField(max_length=65)
    definition = models.JSONField()

    class Meta:
        db_table = "crm_customentity"

    def __str__(self):
        return self.logical_name


class RolePrivilege(models.Model):
    """A privilege (prvCreateaccount...) a security role holds, at a depth (Basic, Local, Deep, Global)."""

    roleid = models.UUIDField(db_index=True)
    name = models.CharField(max_length=128)
    level = models.CharField(max_length=16)

    class Meta:
        db_table = "crm_roleprivilege"
        constraints = [models.UniqueConstraint(fields=["roleid", "name"], name="crm_roleprivilege_role_name")]

    def __str__(self):
        return f"{self.name} ({self.level})"


class OptionValue(models.Model):
    """An option that InsertOptionValue added to, or UpdateOptionValue relabelled in, a local option set.

    The built-in options live in metadata.py; these rows are applied on top of them when the server
    starts (and when a solution registers its entities), so the option set survives a restart.
    """

    entity = models.CharField(max_length=64)
    attribute = models.CharField(max_length=100)
    value = models.IntegerField()
    label = models.TextField()
    description = models.TextField(blank=True)
    # True for options InsertOptionValue created (DeleteOptionValue may remove them); False for a
    # relabelled option of the entity's own option set.
    inserted = models.BooleanField(default=False)

    class Meta:
        db_table = "crm_optionvalue"
        constraints = [
            models.UniqueConstraint(fields=["entity", "attribute", "value"], name="crm_optionvalue_entity_attr_value")
        ]

    def __str__(self):
        return f"{self.entity}.{self.attribute} {self.value} = {self.label}"
