"""Middleware of the console that the API's requests skip."""

from __future__ import annotations

from django.contrib.messages.middleware import MessageMiddleware
from django.http import HttpRequest

# The API's URL prefix (config/urls.py): Bearer requests, JSON answers, no console pages.
API_PREFIX = "/api/"


class ConsoleMessageMiddleware(MessageMiddleware):
    """Attach the console's message storage to every request except the API's.

    Building the storage signs nothing but costs a cookie signer per request;
    the API never shows a message, and get_messages() answers [] without one.
    """

    def process_request(self, request: HttpRequest) -> None:
        if not request.path_info.startswith(API_PREFIX):
            super().process_request(request)
