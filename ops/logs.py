"""Log formatting: one JSON object per line in production, readable text in development.

Both carry the request id of the request being served (RequestIdFilter). The
JSON formatter writes a record's own fields and the `extra` values that are
plain numbers, strings or booleans; objects (Django passes the request) are
left out, so no header, cookie or query string can reach the log through them.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from ops import request_ids
from ops.routes import route_name

# Attributes every LogRecord has; anything else on a record came from `extra`.
_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}
_PLAIN = (str, int, float, bool, type(None))


class RequestIdFilter(logging.Filter):
    """Add `request_id` to every record: the current request's, or "-" outside requests."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_ids.current.get() or "-"
        return True


class PathFilter(logging.Filter):
    """Put the route's name where Django's request lines ("Bad Request: /invitations/…/")
    print the path: links carry secrets (an invitation refused to the wrong account is
    still valid), and the request id already says which request it was."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        path = getattr(request, "path", None)
        if path and isinstance(record.args, tuple) and path in record.args:
            name = route_name(request)
            record.args = tuple(name if arg == path else arg for arg in record.args)
        return True


class JsonFormatter(logging.Formatter):
    """Format a record as one line of JSON."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or request_ids.current.get()
        if request_id and request_id != "-":
            entry["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _RECORD_FIELDS and key not in entry and isinstance(value, _PLAIN):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)
