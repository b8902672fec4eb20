"""Rows to Web API JSON: ``_x_value`` lookups, ``@odata.etag``, formatted values, ``$expand``."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from decimal import Decimal

from crm_sandbox import metadata, odata, store
from crm_sandbox.models import model_for

FORMATTED = "OData.Community.Display.V1.FormattedValue"
LOOKUP_LOGICAL_NAME = "Microsoft.Dynamics.CRM.lookuplogicalname"
ASSOCIATED_NAVIGATION = "Microsoft.Dynamics.CRM.associatednavigationproperty"


class Annotations:
    """The instance annotations a client asked for with ``Prefer: odata.include-annotations``."""

    def __init__(self, patterns: list[str] | None = None):
        self.patterns = patterns or []

    def wants(self, name: str) -> bool:
        for pattern in self.patterns:
            if pattern == "*" or pattern == name or (pattern.endswith(".*") and name.startswith(pattern[:-1])):
                return True
        return False

    @property
    def any(self) -> bool:
        return bool(self.patterns)


def json_value(attribute: metadata.Attribute, value):
    if value is None:
        return None
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and attribute.type != "Money" else float(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def format_value(attribute: metadata.Attribute, value, symbol: str = "$") -> str | None:
    if value is None:
        return None
    kind = attribute.type
    if kind in metadata.OPTION_TYPES:
        return attribute.options.get(value, str(value))
    if kind == "Boolean":
        return "Yes" if value else "No"
    if kind == "Money":
        return f"{'-' if value < 0 else ''}{symbol}{abs(value):,.2f}"
    if kind == "Decimal":
        return f"{value:,.{attribute.precision}f}"
    if kind in {"Integer", "BigInt"}:
        return f"{value:,}"
    if kind == "DateTime":
        moment = value.astimezone(dt.UTC)
        return f"{moment.month}/{moment.day}/{moment.year} {moment.strftime('%I:%M %p').lstrip('0')}"
    return None


class Serializer:
    def __init__(self, *, api_url: str, annotations: Annotations | None = None):
        self.api_url = api_url
        self.annotations = annotations or Annotations()

    def context(self, entity: metadata.Entity, select: list[metadata.Attribute] | None, *, single: bool) -> str:
        columns = f"({','.join(a.value_property for a in select)})" if select else ""
        suffix = "/$entity" if single else ""
        return f"{self.api_url}$metadata#{entity.set_name}{columns}{suffix}"

    def rows(self, entity: metadata.Entity, rows: list[dict], options: odata.QueryOptions) -> list[dict]:
        attributes = self._attributes(entity, options.select)
        names = self._lookup_names(entity, rows, attributes) if self.annotations.wants(FORMATTED) else {}
        symbols = self._currency_symbols(attributes) if self.annotations.wants(FORMATTED) else {}
        result = [self._row(entity, row, attributes, names, symbols) for row in rows]
        for expand in options.expand:
            self._expand(entity, rows, result, expand)
        return result

    def row(self, entity: metadata.Entity, row: dict, options: odata.QueryOptions) -> dict:
        return self.rows(entity, [row], options)[0]

    def _attributes(self, entity: metadata.Entity, select) -> list[metadata.Attribute]:
        if not select:
            return list(entity.attributes)
        chosen = {entity.primary_id: entity.attribute_map[entity.primary_id]}
        for attribute in select:
            chosen[attribute.name] = attribute
            if attribute.type == "Money" and "transactioncurrencyid" in entity.attribute_map:
                chosen.setdefault("transactioncurrencyid", entity.attribute_map["transactioncurrencyid"])
        return list(chosen.values())

    def _row(self, entity, row, attributes, names, symbols) -> dict:
        body = {"@odata.etag": store.etag(row)}
        formatted = self.annotations.wants(FORMATTED)
        for attribute in attributes:
            value = row.get(attribute.name)
            prop = attribute.value_property
            if attribute.is_lookup:
                target = self._lookup_target(attribute, row)
                if value is not None:
                    if formatted:
                        body[f"{prop}@{FORMATTED}"] = names.get((target, value))
                    if self.annotations.wants(ASSOCIATED_NAVIGATION):
                        body[f"{prop}@{ASSOCIATED_NAVIGATION}"] = _navigation_to(attribute, target)
                    if self.annotations.wants(LOOKUP_LOGICAL_NAME):
                        body[f"{prop}@{LOOKUP_LOGICAL_NAME}"] = target
            elif formatted and value is not None and attribute.type != "Uniqueidentifier":
                text = format_value(attribute, value, symbols.get(row.get("transactioncurrencyid"), "$"))
                if text is not None:
                    body[f"{prop}@{FORMATTED}"] = text
            body[prop] = json_value(attribute, value)
        return body

    @staticmethod
    def _lookup_target(attribute: metadata.Attribute, row: dict) -> str:
        if attribute.is_polymorphic:
            return row.get(attribute.type_column) or attribute.targets[0]
        return attribute.targets[0]

    def _lookup_names(self, entity, rows, attributes) -> dict:
        wanted = defaultdict(set)
        for row in rows:
            for attribute in attributes:
                if attribute.is_lookup and row.get(attribute.name) is not None:
                    wanted[self._lookup_target(attribute, row)].add(row[attribute.name])
        names = {}
        for target_name, ids in wanted.items():
            target = metadata.BY_LOGICAL_NAME[target_name]
            found = model_for(target).objects.using(store.DB).filter(**{f"{target.primary_id}__in": ids})
            for record_id, name in found.values_list(target.primary_id, target.primary_name):
                names[(target_name, record_id)] = name
        return names

    def _currency_symbols(self, attributes) -> dict:
        if not any(a.type == "Money" for a in attributes):
            return {}
        currencies = model_for(metadata.TRANSACTIONCURRENCY).objects.using(store.DB)
        return dict(currencies.values_list("transactioncurrencyid", "currencysymbol"))

    def _expand(self, entity, rows, result, expand: odata.Expand) -> None:
        name = expand.navigation
        if name in entity.navigation_map:
            attribute, target_name = entity.navigation_map[name]
            target = metadata.BY_LOGICAL_NAME[target_name]
            ids = {
                row[attribute.name]
                for row in rows
                if row.get(attribute.name) is not None and self._lookup_target(attribute, row) == target_name
            }
            related = model_for(target).objects.using(store.DB).filter(**{f"{target.primary_id}__in": ids}).values()
            by_id = {r[target.primary_id]: r for r in related}
            ordered = list(by_id.values())
            serialized = dict(zip(by_id, self.rows(target, ordered, expand.options), strict=True))
            for row, body in zip(rows, result, strict=True):
                linked = row.get(attribute.name)
                matches = self._lookup_target(attribute, row) == target_name
                body[name] = serialized.get(linked) if matches else None
            return
        target = odata.navigation_target(entity, name)
        for row, body in zip(rows, result, strict=True):
            related = store.related_rows(entity=entity, row=row, navigation=name, options=expand.options)
            body[name] = self.rows(target, related, expand.options)


def _navigation_to(attribute: metadata.Attribute, target: str) -> str:
    return next((nav for nav, logical in attribute.navigations.items() if logical == target), attribute.name)
