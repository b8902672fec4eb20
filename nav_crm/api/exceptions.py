"""Errors as JSON: the services' validation errors become 400 with field errors, conflicts 409."""

import logging

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.db.models import ProtectedError, RestrictedError
from rest_framework import exceptions, status
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the data."
    default_code = "conflict"


def validation_error_detail(error: DjangoValidationError) -> dict:
    """Django's field-keyed messages in DRF's shape (``__all__`` becomes ``non_field_errors``)."""
    if hasattr(error, "error_dict"):
        return {
            (api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field): messages
            for field, messages in error.message_dict.items()
        }
    return {api_settings.NON_FIELD_ERRORS_KEY: error.messages}


def _still_used(objects) -> str:
    names = sorted({str(obj) for obj in objects})
    more = f" and {len(names) - 10} more" if len(names) > 10 else ""
    return f"Cannot delete: still used by {', '.join(names[:10])}{more}."


def api_exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(validation_error_detail(exc))
    elif isinstance(exc, ProtectedError):
        exc = Conflict(_still_used(exc.protected_objects))
    elif isinstance(exc, RestrictedError):
        exc = Conflict(_still_used(exc.restricted_objects))
    elif isinstance(exc, IntegrityError):
        # A race that validation could not see, e.g. two requests creating the same code at once.
        logger.warning("Integrity error answered with 409: %s", exc)
        exc = Conflict("The change conflicts with existing data; reload and try again.")
    return exception_handler(exc, context)
