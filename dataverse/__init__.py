"""A plain-Python client for the Dataverse (Dynamics 365) Web API. Imports nothing of the project."""

from .auth import CertificateAuth, ClientSecretAuth, TokenProvider, UsernamePasswordAuth
from .batch import MAX_BATCH_OPERATIONS, ChangeSet, Op, OperationResult
from .client import Change, ChangeFeed, Client, Clock, QueryResult, Stats, SystemClock, UpsertResult, WhoAmI
from .errors import (
    AuthenticationFailed,
    BatchFailed,
    ConcurrencyMismatch,
    DataverseError,
    DuplicateRecord,
    Forbidden,
    NotFound,
    PreconditionFailed,
    ServiceUnavailable,
    Throttled,
    TransportError,
    Unauthorized,
    ValidationFailed,
)
from .odata import F, Filter, bind, literal

__all__ = [
    "MAX_BATCH_OPERATIONS",
    "AuthenticationFailed",
    "BatchFailed",
    "CertificateAuth",
    "Change",
    "ChangeFeed",
    "ChangeSet",
    "Client",
    "Clock",
    "ClientSecretAuth",
    "ConcurrencyMismatch",
    "DataverseError",
    "DuplicateRecord",
    "F",
    "Filter",
    "Forbidden",
    "NotFound",
    "Op",
    "OperationResult",
    "PreconditionFailed",
    "QueryResult",
    "ServiceUnavailable",
    "Stats",
    "SystemClock",
    "Throttled",
    "TokenProvider",
    "TransportError",
    "Unauthorized",
    "UpsertResult",
    "UsernamePasswordAuth",
    "ValidationFailed",
    "WhoAmI",
    "bind",
    "literal",
]
