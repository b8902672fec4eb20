"""Bulk actions: what a list page can do to the records a user selected."""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.http import HttpRequest, HttpResponse


@dataclass
class BulkResult:
    """What a bulk action did: the records it handled and, for the others, why not."""

    done: list[models.Model] = field(default_factory=list)
    failed: list[tuple[models.Model, str]] = field(default_factory=list)


BulkHandler = Callable[..., BulkResult | HttpResponse]


@dataclass(frozen=True)
class BulkAction:
    """One action on a list page.

    ``handler(*, request, queryset)`` receives the selected records (picked rows, or every
    record matching the list's current search and filters) and returns a :class:`BulkResult`,
    or an ``HttpResponse`` when the action goes on on a page of its own (a form, a question).
    ``confirm``, when set, is the question asked on a confirmation page before it runs.
    ``done_verb`` completes the result message: "3 customers <done_verb>.".
    """

    name: str
    label: str
    permission: str
    handler: BulkHandler
    done_verb: str
    confirm: str = ""
    style: str = "outline-secondary"
    icon: str = ""


def per_record(operation: Callable[[models.Model], object]) -> BulkHandler:
    """A handler that runs ``operation`` (one service call) on each record on its own.

    Each record gets its own savepoint, so one refusal (a ValidationError from the service)
    is reported for that record and never undoes or stops the others.
    """

    def handler(*, request: HttpRequest, queryset: models.QuerySet) -> BulkResult:
        result = BulkResult()
        for record in queryset:
            try:
                with transaction.atomic():
                    operation(record)
            except ValidationError as error:
                result.failed.append((record, " ".join(error.messages)))
            else:
                result.done.append(record)
        return result

    return handler
