"""``$filter`` for ProductItemAvailability: parsed by odata-query's OData parser, translated to a Django Q.

Supported: ``ProductId`` and ``ItemNo`` compared with ``eq`` or ``in``, joined by ``and``/``or``
and parentheses, e.g. ``ProductId in (<guid>, <guid>) or ItemNo eq '1000'``. Anything else (other
properties, other operators, functions, malformed syntax) is refused with a message that says what
is supported.
"""

from __future__ import annotations

import uuid

from django.db.models import Q
from odata_query import ast
from odata_query.exceptions import ODataException, ParsingException, TokenizingException
from odata_query.grammar import ODataLexer, ODataParser
from sly.lex import Token

from coupling.models import Coupling
from coupling.selectors import couplings_for_model
from erp.models import Item
from webservices.odata import ODataError, bad_request

MAX_FILTER_LENGTH = 100_000
MAX_VALUES = 1000
SUPPORTED = (
    "Use eq or in on ProductId or ItemNo, joined by and/or, e.g. ProductId eq <guid> or ItemNo in ('1000','1001')."
)
OPERATORS = {
    ast.NotEq: "ne",
    ast.Lt: "lt",
    ast.LtE: "le",
    ast.Gt: "gt",
    ast.GtE: "ge",
}
LITERAL_TOKENS = {
    "STRING",
    "GUID",
    "NULL",
    "INTEGER",
    "DECIMAL",
    "BOOLEAN",
    "DATE",
    "DATETIME",
    "TIME",
    "DURATION",
}


def _single_value_lists(tokens: list[Token]) -> list[Token]:
    """OData writes a one-value list as ``(x)``; odata-query wants ``(x,)``. Add the comma after ``in``."""
    significant = [index for index, token in enumerate(tokens) if token.type != "WS"]
    commas_before = []
    for position, index in enumerate(significant[:-3]):
        following = [tokens[i].type for i in significant[position + 1 : position + 4]]
        if (
            tokens[index].type == "IN"
            and following[0] == "("
            and following[1] in LITERAL_TOKENS
            and following[2] == ")"
        ):
            commas_before.append(significant[position + 3])
    for index in reversed(commas_before):
        comma = Token()
        comma.type = comma.value = ","
        comma.lineno, comma.index = tokens[index].lineno, tokens[index].index
        tokens.insert(index, comma)
    return tokens


def parse(text: str) -> ast._Node:
    if not text.strip():
        raise bad_request(f"The $filter is empty. {SUPPORTED}", code="InvalidFilter")
    if len(text) > MAX_FILTER_LENGTH:
        raise bad_request(f"The $filter is longer than {MAX_FILTER_LENGTH} characters.", code="InvalidFilter")
    try:
        return ODataParser().parse(iter(_single_value_lists(list(ODataLexer().tokenize(text)))))
    except TokenizingException as error:
        raise bad_request(_syntax_message(text, error.token.index), code="InvalidFilter") from None
    except ParsingException as error:
        position = len(text) if error.eof or error.token is None else error.token.index
        raise bad_request(_syntax_message(text, position), code="InvalidFilter") from None
    except ODataException as error:
        raise bad_request(f"The $filter is not valid: {error}. {SUPPORTED}", code="InvalidFilter") from None
    except RecursionError:
        raise bad_request("The $filter is nested too deeply.", code="InvalidFilter") from None


def _syntax_message(text: str, position: int) -> str:
    if position >= len(text):
        return f"The $filter ends unexpectedly. {SUPPORTED}"
    return (
        f"The $filter is not valid OData at position {position + 1} ('{text[position : position + 20]}'). {SUPPORTED}"
    )


def filter_q(text: str) -> Q:
    """The Q for a ``$filter``; ODataError (400) when it is not valid or not supported."""
    counter = [0]
    return _translate(parse(text), counter)


def _translate(node: ast._Node, counter: list[int]) -> Q:
    match node:
        case ast.BoolOp(op=ast.And(), left=left, right=right):
            return _translate(left, counter) & _translate(right, counter)
        case ast.BoolOp(op=ast.Or(), left=left, right=right):
            return _translate(left, counter) | _translate(right, counter)
        case ast.Compare(comparator=ast.Eq() | ast.In() as comparator, left=ast.Identifier(name=name, namespace=())):
            values = _values(node.right, comparator)
            counter[0] += len(values)
            if counter[0] > MAX_VALUES:
                raise _unsupported(f"The $filter compares with more than {MAX_VALUES} values; split the request.")
            if name == "ItemNo":
                return _item_no_q(values)
            if name == "ProductId":
                return _product_id_q(values)
            raise _unsupported(f"The $filter cannot use the property '{name}'. {SUPPORTED}")
        case ast.Compare(comparator=ast.Eq() | ast.In()):
            raise _unsupported(
                f"The $filter compares a value with a value: put ProductId or ItemNo on the left. {SUPPORTED}"
            )
        case ast.Compare(comparator=comparator):
            operator = OPERATORS.get(type(comparator), type(comparator).__name__)
            raise _unsupported(f"The $filter operator '{operator}' is not supported. {SUPPORTED}")
        case ast.Call(func=ast.Identifier(name=function)):
            raise _unsupported(f"The $filter function '{function}' is not supported. {SUPPORTED}")
        case ast.UnaryOp(op=ast.Not()):
            raise _unsupported(f"The $filter operator 'not' is not supported. {SUPPORTED}")
        case _:
            raise _unsupported(f"The $filter is not a supported condition. {SUPPORTED}")


def _unsupported(message: str) -> ODataError:
    return bad_request(message, code="UnsupportedFilter")


def _values(right: ast._Node, comparator: ast._Comparator) -> list[ast._Literal]:
    if isinstance(comparator, ast.In):
        if not isinstance(right, ast.List):
            raise _unsupported(f"'in' takes a list of values in parentheses. {SUPPORTED}")
        return list(right.val)
    if not isinstance(right, ast._Literal) or isinstance(right, ast.List):
        raise _unsupported(f"'eq' compares a property with one value. {SUPPORTED}")
    return [right]


def _item_no_q(values: list[ast._Literal]) -> Q:
    numbers = []
    for value in values:
        if isinstance(value, ast.Null):
            continue  # every item has a number: null matches none
        if not isinstance(value, ast.String):
            raise _unsupported("ItemNo is a string: quote it, e.g. ItemNo eq '1000'.")
        numbers.append(value.val)
    return Q(no__in=numbers)


def _product_id_q(values: list[ast._Literal]) -> Q:
    product_ids = []
    wants_uncoupled = False
    for value in values:
        if isinstance(value, ast.Null):
            wants_uncoupled = True
        elif isinstance(value, ast.GUID):
            product_ids.append(uuid.UUID(value.val))
        else:
            raise _unsupported(
                "ProductId is a GUID, written without quotes, e.g. ProductId eq 01234567-89ab-cdef-0123-456789abcdef."
            )
    # Through the coupling table's rows for these CRM ids (a semi-join on Item.system_id's unique
    # index) rather than comparing the annotated crm_id, which would evaluate it for every item.
    coupled = couplings_for_model(model=Item).filter(crm_id__in=product_ids, state=Coupling.State.COUPLED)
    condition = Q(system_id__in=coupled.values("erp_system_id"))
    if wants_uncoupled:
        condition |= Q(crm_id__isnull=True)
    return condition
