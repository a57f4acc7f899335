"""The console's middleware, skipped by the API's requests.

The API answers Bearer requests with JSON: it reads no session, no signed-in
user, no flash message and no htmx header. Those four middleware cost every API
request their setup (the message storage alone builds a cookie signer), so the
variants here pass the API's requests straight through. CSRF, security headers
and the request log still see every request.
"""

from __future__ import annotations

from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django_htmx.middleware import HtmxMiddleware

# The API's URL prefix (config/urls.py).
API_PREFIX = "/api/"


def console_only(middleware: type) -> type:
    """Return a subclass of `middleware` that hands requests under API_PREFIX straight on.

    A subclass, so that Django's checks still find the middleware they require.
    """

    class ConsoleOnly(middleware):
        def __call__(self, request):
            if request.path_info.startswith(API_PREFIX):
                return self.get_response(request)
            return super().__call__(request)

    ConsoleOnly.__name__ = ConsoleOnly.__qualname__ = f"Console{middleware.__name__}"
    ConsoleOnly.__doc__ = f"{middleware.__name__}, for every request but the API's."
    return ConsoleOnly


ConsoleSessionMiddleware = console_only(SessionMiddleware)
ConsoleAuthenticationMiddleware = console_only(AuthenticationMiddleware)
ConsoleMessageMiddleware = console_only(MessageMiddleware)
ConsoleHtmxMiddleware = console_only(HtmxMiddleware)
