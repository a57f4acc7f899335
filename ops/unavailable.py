"""Answer 503 when the database cannot be reached: a clear page, or JSON for API clients.

Never a traceback: the operator reads the cause in the log.
"""

from __future__ import annotations

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.cache import patch_cache_control
from django.views import defaults

from accounts.middleware import API_PREFIX

logger = logging.getLogger("keyward.ops.unavailable")
# Connection refused or lost, server shutting down, a lock or statement timeout: worth a retry.
DATABASE_DOWN = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 30


def _wants_json(request: HttpRequest) -> bool:
    if request.path_info.startswith(API_PREFIX):
        return True
    accept = request.headers.get("Accept", "")
    return "json" in accept and "html" not in accept


def database_down_response(request: HttpRequest, error: BaseException) -> HttpResponse:
    """Log the database's failure and return the 503 answer for `request`."""
    logger.error("The database is unavailable: %s: %s", type(error).__name__, error)
    if _wants_json(request):
        response = JsonResponse(
            {
                "error": "unavailable",
                "message": "Keyward cannot reach its database right now. Try again shortly.",
                "retry_after": RETRY_AFTER_SECONDS,
            },
            status=503,
        )
    else:
        # Rendered without the request: no context processor may query the database.
        page = render_to_string("503.html", {"retry_after": RETRY_AFTER_SECONDS})
        response = HttpResponse(page, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    patch_cache_control(response, no_store=True)
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """Answer an uncaught exception (handler500): 503 if the database is down, else Django's 500.

    Views' exceptions reach DatabaseUnavailableMiddleware first; this catches those
    raised in middleware (a session saved after the view, for instance).
    """
    error = sys.exception()
    if isinstance(error, DATABASE_DOWN):
        return database_down_response(request, error)
    return defaults.server_error(request)
