"""Logging filters (settings.LOGGING)."""

import logging


class ForbiddenWithoutTraceback(logging.Filter):
    """A refused request (403) is an expected outcome, logged as one line: Django attaches the
    PermissionDenied exception, and its traceback said nothing the line does not."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
        return True
