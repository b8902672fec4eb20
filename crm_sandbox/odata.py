"""OData query options as Dataverse reads them: $select, $filter, $orderby, $top, $expand, $count.

``$filter`` is parsed by odata-query into an AST which this module turns into a Django ``Q`` on
the entity's table: lookups (``_x_value``) map to their UUID column, string comparisons ignore
case (Dataverse's collation does), ``Microsoft.Dynamics.CRM.*`` query functions are supported,
and navigation paths (``parentcustomerid_account/name``) become indexed sub-queries.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db.models import F, Q
from django.db.models.functions import Lower
from odata_query import ast
from odata_query import exceptions as odata_exceptions
from odata_query.grammar import ODataLexer, ODataParser

from crm_sandbox import metadata
from crm_sandbox.errors import QueryError

MAX_PAGE_SIZE = 5000
SUPPORTED_OPTIONS = {"$select", "$filter", "$orderby", "$top", "$expand", "$count", "$skiptoken"}
UNSUPPORTED_OPTIONS = {"$skip", "$search", "$format"}


@dataclass
class QueryOptions:
    select: list[metadata.Attribute] | None = None
    filter: Q | None = None
    orderby: list[tuple[metadata.Attribute, bool]] = field(default_factory=list)
    top: int | None = None
    count: bool = False
    expand: list[Expand] = field(default_factory=list)


@dataclass
class Expand:
    navigation: str
    options: QueryOptions


def property_not_found(entity: metadata.Entity, name: str) -> QueryError:
    return QueryError(f"Could not find a property named '{name}' on type '{entity.type_name}'.")


def resolve_property(entity: metadata.Entity, name: str) -> metadata.Attribute:
    attribute = entity.value_property_map.get(name)
    if attribute is None:
        raise property_not_found(entity, name)
    return attribute


def parse_select(entity: metadata.Entity, text: str) -> list[metadata.Attribute]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise QueryError("The $select query option must not be empty.")
    # Dataverse also accepts a lookup's attribute name (primarycontactid) and answers _primarycontactid_value.
    return [
        entity.attribute_map[name]
        if name in entity.attribute_map and entity.attribute_map[name].is_lookup
        else resolve_property(entity, name)
        for name in names
    ]


def parse_top(text: str) -> int:
    try:
        top = int(text)
    except ValueError:
        raise QueryError(f"Invalid value '{text}' for $top query option found.") from None
    if top < 0:
        raise QueryError(
            f"Invalid value '{text}' for $top query option found. "
            "The $top query option requires a non-negative integer value."
        )
    return top


def parse_count(text: str) -> bool:
    if text.lower() not in {"true", "false"}:
        raise QueryError(f"'{text}' is not a valid count option.")
    return text.lower() == "true"


def parse_orderby(entity: metadata.Entity, text: str) -> list[tuple[metadata.Attribute, bool]]:
    ordering = []
    for clause in text.split(","):
        parts = clause.split()
        if not parts or len(parts) > 2 or (len(parts) == 2 and parts[1].lower() not in {"asc", "desc"}):
            raise QueryError(f"Syntax error in $orderby: '{clause.strip()}'.")
        ordering.append((resolve_property(entity, parts[0]), len(parts) == 2 and parts[1].lower() == "desc"))
    return ordering


def order_expressions(entity: metadata.Entity, ordering: list[tuple[metadata.Attribute, bool]]) -> list:
    expressions = []
    for attribute, descending in ordering:
        column = Lower(attribute.name) if attribute.type in metadata.STRING_TYPES else F(attribute.name)
        expressions.append(column.desc(nulls_last=True) if descending else column.asc(nulls_first=True))
    expressions.append(entity.primary_id)
    return expressions


def split_top_level(text: str, separator: str) -> list[str]:
    """Splits on ``separator`` outside parentheses and quotes."""
    parts, depth, in_quote, current = [], 0, False, []
    for char in text:
        if char == "'":
            in_quote = not in_quote
        elif not in_quote and char == "(":
            depth += 1
        elif not in_quote and char == ")":
            depth -= 1
            if depth < 0:
                raise QueryError(f"Unbalanced parentheses in '{text}'.")
        if char == separator and depth == 0 and not in_quote:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if depth != 0 or in_quote:
        raise QueryError(f"Syntax error in '{text}'.")
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]


def parse_expand(entity: metadata.Entity, text: str) -> list[Expand]:
    expands = []
    for item in split_top_level(text, ","):
        name, _, rest = item.partition("(")
        name = name.strip()
        target = navigation_target(entity, name)
        nested: dict[str, str] = {}
        if rest:
            if not rest.endswith(")"):
                raise QueryError(f"Syntax error in $expand: '{item}'.")
            for option in split_top_level(rest[:-1], ";"):
                key, sep, value = option.partition("=")
                if not sep:
                    raise QueryError(f"Syntax error in $expand: '{option}'.")
                nested[key.strip()] = value.strip()
        options = parse_options(target, nested, nested=True)
        single_valued = name in entity.navigation_map
        if single_valued and (options.filter is not None or options.orderby or options.top is not None):
            raise QueryError(
                f"Only $select and $expand are supported on the single-valued navigation property '{name}'."
            )
        expands.append(Expand(name, options))
    return expands


def navigation_target(entity: metadata.Entity, name: str) -> metadata.Entity:
    if name in entity.navigation_map:
        return metadata.BY_LOGICAL_NAME[entity.navigation_map[name][1]]
    if name in entity.collection_map:
        return metadata.BY_LOGICAL_NAME[entity.collection_map[name].entity]
    raise property_not_found(entity, name)


def parse_options(entity: metadata.Entity, params: dict[str, str], *, nested: bool = False) -> QueryOptions:
    """Reads the query options of a request (or of an ``$expand`` item, when ``nested``)."""
    for name in params:
        if name in UNSUPPORTED_OPTIONS:
            raise QueryError(f"The query parameter {name} is not supported")
        if name.startswith("$") and name not in SUPPORTED_OPTIONS | {"$deltatoken", "$apply"}:
            raise QueryError(f"The query parameter {name} is not supported")
    options = QueryOptions()
    if "$select" in params:
        options.select = parse_select(entity, params["$select"])
    if "$filter" in params:
        options.filter = parse_filter(entity, params["$filter"])
    if "$orderby" in params:
        options.orderby = parse_orderby(entity, params["$orderby"])
    if "$top" in params:
        options.top = parse_top(params["$top"])
    if "$count" in params:
        options.count = parse_count(params["$count"])
    if "$expand" in params:
        options.expand = parse_expand(entity, params["$expand"])
    return options


# --- $filter -------------------------------------------------------------------------------------------

_COMPARATORS = {ast.Eq: "eq", ast.NotEq: "ne", ast.Lt: "lt", ast.LtE: "le", ast.Gt: "gt", ast.GtE: "ge"}
_FLIPPED = {"eq": "eq", "ne": "ne", "lt": "gt", "le": "ge", "gt": "lt", "ge": "le"}
_STRING_FUNCTIONS = {"contains": "icontains", "startswith": "istartswith", "endswith": "iendswith"}


def _brackets_to_parentheses(text: str) -> str:
    """Dataverse query functions take JSON-style lists (``PropertyValues=['a','b']``); OData lists use ()."""
    out, quoted = [], False
    for char in text:
        if char == "'":
            quoted = not quoted
        out.append({"[": "(", "]": ")"}.get(char, char) if not quoted else char)
    return "".join(out)


def parse_filter(entity: metadata.Entity, text: str) -> Q:
    try:
        tree = ODataParser().parse(ODataLexer().tokenize(_brackets_to_parentheses(text)))
    except odata_exceptions.ODataException as error:
        raise QueryError(f"Syntax error in $filter '{text}': {error}") from None
    except Exception:  # noqa: BLE001 — the parser raises bare errors on some malformed input
        raise QueryError(f"Syntax error in $filter '{text}'.") from None
    return FilterBuilder(entity).build(tree)


class FilterBuilder:
    def __init__(self, entity: metadata.Entity):
        self.entity = entity

    def build(self, node) -> Q:
        if isinstance(node, ast.BoolOp):
            left, right = self.build(node.left), self.build(node.right)
            return left & right if isinstance(node.op, ast.And) else left | right
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return ~self.build(node.operand)
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        raise QueryError(f"The $filter expression '{type(node).__name__}' is not supported.")

    # Comparisons -----------------------------------------------------------------------------------
    def _compare(self, node: ast.Compare) -> Q:
        if isinstance(node.comparator, ast.In):
            raise QueryError("The 'in' operator is not supported: use Microsoft.Dynamics.CRM.In.")
        operator = _COMPARATORS[type(node.comparator)]
        left, right = node.left, node.right
        if not isinstance(left, ast.Identifier | ast.Attribute):
            left, right, operator = right, left, _FLIPPED[operator]
        if not isinstance(left, ast.Identifier | ast.Attribute):
            raise QueryError("A comparison in $filter needs a property on one side.")
        if isinstance(left, ast.Attribute):
            return self._navigation_path(
                left, lambda builder, ident: builder._compare_identifier(ident, operator, right)
            )
        return self._compare_identifier(left, operator, right)

    def _compare_identifier(self, identifier: ast.Identifier, operator: str, literal) -> Q:
        attribute = resolve_property(self.entity, identifier.name)
        column = attribute.name
        if isinstance(literal, ast.Null):
            if operator not in {"eq", "ne"}:
                raise QueryError(f"The operator '{operator}' cannot compare with null.")
            return Q(**{f"{column}__isnull": operator == "eq"})
        value = literal_value(attribute, literal)
        if attribute.type in metadata.STRING_TYPES and operator in {"eq", "ne"}:
            condition = Q(**{f"{column}__iexact": value})
            return condition if operator == "eq" else ~condition & Q(**{f"{column}__isnull": False})
        lookup = {"eq": "exact", "lt": "lt", "le": "lte", "gt": "gt", "ge": "gte"}.get(operator)
        if lookup is None:
            return ~Q(**{column: value}) & Q(**{f"{column}__isnull": False})
        return Q(**{f"{column}__{lookup}": value})

    def _navigation_path(self, node: ast.Attribute, build_inner) -> Q:
        """``nav/attr op value``: a sub-query on the target table, joined through the lookup column."""
        owner = node.owner
        if not isinstance(owner, ast.Identifier) or owner.name not in self.entity.navigation_map:
            raise QueryError("Navigation paths in $filter must start with a single-valued navigation property.")
        attribute, target_name = self.entity.navigation_map[owner.name]
        target = metadata.BY_LOGICAL_NAME[target_name]
        inner = build_inner(FilterBuilder(target), ast.Identifier(node.attr))
        from crm_sandbox.models import model_for

        subquery = model_for(target).objects.filter(inner).values(target.primary_id)
        condition = Q(**{f"{attribute.name}__in": subquery})
        if attribute.is_polymorphic:
            condition &= Q(**{attribute.type_column: target_name})
        return condition

    # Functions -----------------------------------------------------------------------------------------
    def _call(self, node: ast.Call) -> Q:
        name = node.func.name
        if node.func.namespace == ("Microsoft", "Dynamics", "CRM"):
            return self._crm_function(name, node.args)
        if node.func.namespace or name not in _STRING_FUNCTIONS:
            raise QueryError(f"The function '{'.'.join((*node.func.namespace, name))}' is not supported.")
        if len(node.args) != 2 or not isinstance(node.args[1], ast.String):
            raise QueryError(f"The function '{name}' takes a property and a string.")
        target = node.args[0]
        if isinstance(target, ast.Attribute):
            return self._navigation_path(
                target, lambda builder, ident: builder._string_function(name, ident, node.args[1])
            )
        if not isinstance(target, ast.Identifier):
            raise QueryError(f"The function '{name}' takes a property and a string.")
        return self._string_function(name, target, node.args[1])

    def _string_function(self, name: str, identifier: ast.Identifier, literal: ast.String) -> Q:
        attribute = resolve_property(self.entity, identifier.name)
        if attribute.type not in metadata.STRING_TYPES:
            raise QueryError(f"The function '{name}' needs a string property; '{identifier.name}' is not one.")
        return Q(**{f"{attribute.name}__{_STRING_FUNCTIONS[name]}": literal.py_val})

    def _crm_function(self, name: str, args: list) -> Q:
        params = {}
        for arg in args:
            if not isinstance(arg, ast.NamedParam):
                raise QueryError(f"Microsoft.Dynamics.CRM.{name} takes named parameters.")
            params[arg.name.name] = arg.param
        property_node = params.get("PropertyName")
        if not isinstance(property_node, ast.String):
            raise QueryError(f"Microsoft.Dynamics.CRM.{name} needs PropertyName.")
        attribute = resolve_property(self.entity, property_node.py_val)
        column = attribute.name
        if name in {"Null", "NotNull"}:
            return Q(**{f"{column}__isnull": name == "Null"})
        if name in {"In", "NotIn", "Between", "NotBetween"}:
            values_node = params.get("PropertyValues")
            if isinstance(values_node, ast.List):
                items = values_node.val
            elif isinstance(values_node, ast._Literal):
                # A one-value list "['a']" reads as a parenthesised literal once brackets become parentheses.
                items = [values_node]
            else:
                raise QueryError(f"Microsoft.Dynamics.CRM.{name} needs PropertyValues.")
            values = [_function_value(attribute, item) for item in items]
            if name in {"Between", "NotBetween"}:
                if len(values) != 2:
                    raise QueryError(f"Microsoft.Dynamics.CRM.{name} needs two values.")
                condition = Q(**{f"{column}__gte": values[0], f"{column}__lte": values[1]})
            elif attribute.type in metadata.STRING_TYPES:
                condition = Q()
                for value in values:
                    condition |= Q(**{f"{column}__iexact": value})
            else:
                condition = Q(**{f"{column}__in": values})
            return condition if not name.startswith("Not") else ~condition & Q(**{f"{column}__isnull": False})
        if name in {"EqualUserId", "NeUserId"}:
            raise QueryError(f"Microsoft.Dynamics.CRM.{name} needs the caller; it is not supported in this context.")
        raise QueryError(f"The function 'Microsoft.Dynamics.CRM.{name}' is not supported.")


def _function_value(attribute: metadata.Attribute, node):
    # Query-function values are often passed as strings ('1', 'guid'); convert them to the column type.
    if isinstance(node, ast.String) and attribute.type not in metadata.STRING_TYPES:
        return python_value(attribute, node.py_val)
    return literal_value(attribute, node)


def literal_value(attribute: metadata.Attribute, literal):
    if not isinstance(literal, ast._Literal):
        raise QueryError("Comparisons in $filter compare a property with a literal value.")
    kind = attribute.type
    try:
        if attribute.is_lookup or kind == "Uniqueidentifier":
            if isinstance(literal, ast.GUID | ast.String):
                return uuid.UUID(literal.val)
        elif kind in metadata.STRING_TYPES:
            if isinstance(literal, ast.String):
                return literal.py_val
        elif kind in {"Integer", "BigInt", "Picklist", "State", "Status"}:
            if isinstance(literal, ast.Integer):
                return literal.py_val
        elif kind in {"Decimal", "Money", "Double"}:
            if isinstance(literal, ast.Integer | ast.Float):
                return Decimal(literal.val) if kind != "Double" else float(literal.val)
        elif kind == "Boolean":
            if isinstance(literal, ast.Boolean):
                return literal.py_val
        elif kind == "DateTime":
            if isinstance(literal, ast.DateTime):
                return parse_datetime(literal.val)
            if isinstance(literal, ast.Date):
                return dt.datetime.combine(literal.py_val, dt.time(), tzinfo=dt.UTC)
    except (ValueError, InvalidOperation):
        pass
    raise QueryError(
        f"A binary operator with incompatible types was detected. Found operand types "
        f"'{_edm_type(attribute)}' and '{_literal_edm_type(literal)}' for the operator kind 'Equal'."
    )


def python_value(attribute: metadata.Attribute, text: str):
    """Converts a URL key value or a function parameter given as a string."""
    kind = attribute.type
    try:
        if attribute.is_lookup or kind == "Uniqueidentifier":
            return uuid.UUID(text)
        if kind in {"Integer", "BigInt", "Picklist", "State", "Status"}:
            return int(text)
        if kind in {"Decimal", "Money"}:
            return Decimal(text)
        if kind == "Double":
            return float(text)
        if kind == "Boolean":
            return {"true": True, "false": False}[text.lower()]
        if kind == "DateTime":
            return parse_datetime(text)
    except (ValueError, KeyError, InvalidOperation):
        raise QueryError(f"'{text}' is not a valid value for '{attribute.value_property}'.") from None
    return text


def parse_datetime(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value


EDM_TYPES = {
    "String": "Edm.String",
    "Memo": "Edm.String",
    "Integer": "Edm.Int32",
    "Picklist": "Edm.Int32",
    "State": "Edm.Int32",
    "Status": "Edm.Int32",
    "BigInt": "Edm.Int64",
    "Decimal": "Edm.Decimal",
    "Money": "Edm.Decimal",
    "Double": "Edm.Double",
    "Boolean": "Edm.Boolean",
    "DateTime": "Edm.DateTimeOffset",
    "Uniqueidentifier": "Edm.Guid",
    "Lookup": "Edm.Guid",
    "Customer": "Edm.Guid",
    "Owner": "Edm.Guid",
}


def _edm_type(attribute: metadata.Attribute) -> str:
    return EDM_TYPES[attribute.type]


def _literal_edm_type(literal) -> str:
    return {
        ast.String: "Edm.String",
        ast.Integer: "Edm.Int32",
        ast.Float: "Edm.Decimal",
        ast.Boolean: "Edm.Boolean",
        ast.DateTime: "Edm.DateTimeOffset",
        ast.Date: "Edm.Date",
        ast.GUID: "Edm.Guid",
    }.get(type(literal), "Edm.Untyped")
