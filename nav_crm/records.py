"""How messages and pages name a record. Imports no model."""

from django.db import models


def describe_record(record: models.Model, *, capitalize: bool = False) -> str:
    """The record's kind and the record, e.g. "customer C00010 Adatum" ("Customer C00010 Adatum" capitalized)."""
    noun = record._meta.verbose_name
    return f"{noun.capitalize() if capitalize else noun} {record}"


def plural(noun: str) -> str:
    """A noun of the pages in the plural: "account" → "accounts", "currency" → "currencies"."""
    return f"{noun[:-1]}ies" if noun.endswith("y") else f"{noun}s"
