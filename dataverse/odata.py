"""OData 4.0 text for Dataverse: literals, record keys, $filter expressions, $expand, query strings.

User data only ever reaches a URL through `literal()` (which quotes and escapes it) and then
percent-encoding; names (entity sets, columns, navigation properties) must be plain identifiers.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PROPERTY_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# Dataverse cannot address a record whose alternate key value holds one of these, even percent-encoded.
_KEY_VALUE_FORBIDDEN = frozenset("/#<>*%&:\\?+")

Key = uuid.UUID | str | Mapping[str, Any]
# What expand= takes (see expand_text).
Expand = str | Iterable[str] | Mapping[str, Mapping[str, Any] | None]


def identifier(name: str, *, what: str = "name") -> str:
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise ValueError(f"invalid {what} {name!r}: expected letters, digits and underscores")
    return name


def property_path(name: str) -> str:
    if not isinstance(name, str) or not _PROPERTY_PATH.match(name):
        raise ValueError(f"invalid property {name!r}: expected a column name or a navigation path like 'a/b'")
    return name


def is_guid(value: Any) -> bool:
    return isinstance(value, uuid.UUID) or (isinstance(value, str) and bool(_GUID.match(value)))


def guid(value: uuid.UUID | str) -> str:
    """The canonical lowercase form of a GUID; ValueError for anything else."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, str) and _GUID.match(value):
        return value.lower()
    raise ValueError(f"not a GUID: {value!r}")


def literal(value: Any) -> str:
    """An OData 4.0 literal: strings quoted with '' escaping, GUIDs bare, datetimes ISO 8601 UTC."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot use {value!r} in a query")
        return repr(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot use {value!r} in a query")
        return format(value, "f")
    if isinstance(value, datetime):
        return datetime_literal(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"cannot express a {type(value).__name__} as an OData literal")


def datetime_literal(value: datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: give a timezone-aware datetime (it is sent in UTC)")
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text + "Z"


def parse_datetime(value: Any) -> datetime | None:
    """A date and time Dataverse sent (``2024-05-01T10:00:00Z``), timezone-aware; None when empty or unreadable.

    Dataverse sends UTC: a value without an offset is taken as UTC.
    """
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def key_predicate(key: Key) -> str:
    """The text inside the parentheses of a record address, unencoded: a GUID or k='v',k2=3."""
    if isinstance(key, Mapping):
        if not key:
            raise ValueError("an alternate key needs at least one column")
        parts = []
        for name, value in key.items():
            identifier(name, what="key column")
            if value is None:
                raise ValueError(f"alternate key column {name!r} has no value")
            if isinstance(value, str) and _KEY_VALUE_FORBIDDEN.intersection(value):
                bad = "".join(sorted(_KEY_VALUE_FORBIDDEN.intersection(value)))
                raise ValueError(
                    f"alternate key value {value!r} contains {bad!r}; Dataverse cannot address such a record by key"
                )
            parts.append(f"{name}={literal(value)}")
        return ",".join(parts)
    return guid(key)


def record_path(entity_set: str, key: Key) -> str:
    """accounts(<guid>) or accounts(accountnumber='A%201') — percent-encoded, safe for a URL path."""
    return f"{identifier(entity_set, what='entity set')}({quote(key_predicate(key), safe=chr(39) + ',=')})"


def bind(entity_set: str, key: Key) -> str:
    """A value for `<navigation>@odata.bind`: "/accounts(<guid>)" or "/accounts(accountnumber='A1')"."""
    return f"/{identifier(entity_set, what='entity set')}({key_predicate(key)})"


def entity_id_from_url(url: str | None) -> str | None:
    """The GUID at the end of an OData-EntityId such as https://org/api/data/v9.2/accounts(<guid>)."""
    if not url:
        return None
    match = re.search(r"\(([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\)$", url)
    return match.group(1).lower() if match else None


class Filter:
    """A $filter expression built from parts that quote their values.

    Combine with `&` (and), `|` (or) and `~` (not):
        F.eq("name", "O'Neil") & F.gt("modifiedon", since) | F.in_("accountnumber", ["A1", "A2"])
    """

    __slots__ = ("text", "_precedence")

    # Parenthesise by precedence so a rendered filter means what the Python expression meant.
    _ATOM, _NOT, _AND, _OR = 0, 1, 2, 3

    def __init__(self, text: str, precedence: int = 0):
        self.text = text
        self._precedence = precedence

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Filter({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Filter) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def _operand(self, limit: int) -> str:
        return f"({self.text})" if self._precedence > limit else self.text

    def __and__(self, other: Filter) -> Filter:
        other = _as_filter(other)
        return Filter(f"{self._operand(self._AND)} and {other._operand(self._AND)}", self._AND)

    def __or__(self, other: Filter) -> Filter:
        other = _as_filter(other)
        return Filter(f"{self._operand(self._OR)} or {other._operand(self._OR)}", self._OR)

    def __invert__(self) -> Filter:
        return Filter(f"not {self._operand(self._ATOM)}", self._NOT)

    # Comparisons -------------------------------------------------------------------------------
    @classmethod
    def _compare(cls, op: str, name: str, value: Any) -> Filter:
        return cls(f"{property_path(name)} {op} {literal(value)}")

    @classmethod
    def eq(cls, name: str, value: Any) -> Filter:
        return cls._compare("eq", name, value)

    @classmethod
    def ne(cls, name: str, value: Any) -> Filter:
        return cls._compare("ne", name, value)

    @classmethod
    def gt(cls, name: str, value: Any) -> Filter:
        return cls._compare("gt", name, value)

    @classmethod
    def ge(cls, name: str, value: Any) -> Filter:
        return cls._compare("ge", name, value)

    @classmethod
    def lt(cls, name: str, value: Any) -> Filter:
        return cls._compare("lt", name, value)

    @classmethod
    def le(cls, name: str, value: Any) -> Filter:
        return cls._compare("le", name, value)

    # String functions --------------------------------------------------------------------------
    @classmethod
    def _function(cls, function: str, name: str, value: str) -> Filter:
        if not isinstance(value, str):
            raise TypeError(f"{function}() takes a string, got {type(value).__name__}")
        return cls(f"{function}({property_path(name)},{literal(value)})")

    @classmethod
    def contains(cls, name: str, value: str) -> Filter:
        return cls._function("contains", name, value)

    @classmethod
    def startswith(cls, name: str, value: str) -> Filter:
        return cls._function("startswith", name, value)

    @classmethod
    def endswith(cls, name: str, value: str) -> Filter:
        return cls._function("endswith", name, value)

    # Dataverse query functions -----------------------------------------------------------------
    @classmethod
    def in_(cls, name: str, values: Iterable[Any]) -> Filter:
        """Microsoft.Dynamics.CRM.In: PropertyValues is a collection of strings, so every value is quoted."""
        rendered = [literal(_as_text(value)) for value in values]
        if not rendered:
            raise ValueError(f"in_({name!r}, ...) needs at least one value")
        return cls(
            f"Microsoft.Dynamics.CRM.In(PropertyName={literal(identifier(name))},PropertyValues=[{','.join(rendered)}])"
        )

    @classmethod
    def all(cls, *filters: Filter) -> Filter:
        return _combine(filters, "&")

    @classmethod
    def any(cls, *filters: Filter) -> Filter:
        return _combine(filters, "|")


F = Filter


def _as_filter(value: Any) -> Filter:
    if not isinstance(value, Filter):
        raise TypeError(f"expected a Filter, got {type(value).__name__}")
    return value


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return datetime_literal(value)
    if isinstance(value, uuid.UUID | int | Decimal | date):
        return str(value)
    raise TypeError(f"cannot use a {type(value).__name__} in Microsoft.Dynamics.CRM.In")


def _combine(filters: Sequence[Filter], op: str) -> Filter:
    if not filters:
        raise ValueError("nothing to combine")
    result = _as_filter(filters[0])
    for item in filters[1:]:
        result = result & item if op == "&" else result | item
    return result


def select_text(columns: str | Iterable[str]) -> str:
    if isinstance(columns, str):
        columns = [columns]
    names = [identifier(column, what="column") for column in columns]
    if not names:
        raise ValueError("$select needs at least one column")
    return ",".join(names)


def orderby_text(orderby: str | Iterable[str]) -> str:
    """Columns, each optionally followed by ' asc' or ' desc'."""
    if isinstance(orderby, str):
        orderby = [orderby]
    parts = []
    for item in orderby:
        name, _, direction = item.strip().partition(" ")
        direction = direction.strip().lower()
        if direction not in ("", "asc", "desc"):
            raise ValueError(f"invalid $orderby direction in {item!r}")
        parts.append(property_path(name) + (f" {direction}" if direction else ""))
    return ",".join(parts)


def expand_text(expand: Expand) -> str:
    """$expand from navigation names, or {"nav": {"select": [...], "filter": F..., "orderby": ..., "top": n}}."""
    if isinstance(expand, str):
        expand = [expand]
    if not isinstance(expand, Mapping):
        expand = dict.fromkeys(expand)
    parts = []
    for name, options in expand.items():
        identifier(name, what="navigation property")
        if not options:
            parts.append(name)
            continue
        unknown = set(options) - {"select", "filter", "orderby", "top"}
        if unknown:
            raise ValueError(f"unsupported $expand options {sorted(unknown)} for {name!r}")
        nested = []
        if options.get("select"):
            nested.append(f"$select={select_text(options['select'])}")
        if options.get("filter") is not None:
            nested.append(f"$filter={_as_filter(options['filter']).text}")
        if options.get("orderby"):
            nested.append(f"$orderby={orderby_text(options['orderby'])}")
        if options.get("top") is not None:
            nested.append(f"$top={positive_int(options['top'], '$top')}")
        parts.append(f"{name}({';'.join(nested)})")
    return ",".join(parts)


def positive_int(value: Any, what: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    raise ValueError(f"{what} must be a positive integer, got {value!r}")


def query_string(params: Mapping[str, Any]) -> str:
    """Percent-encode query options; `$` and the OData punctuation stay readable, data is escaped."""
    return "&".join(
        f"{quote(str(name), safe='$@')}={quote(str(value), safe=chr(39) + '$@(),:/=')}"
        for name, value in params.items()
    )
