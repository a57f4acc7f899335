"""Keep staff without a second factor out of /admin/ when KEYWARD_ADMIN_REQUIRE_TWO_FACTOR is on.

They are sent to Account → Security to set one up; the admin's own login and
logout pages stay open, so nobody is locked out of signing in or out.
"""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from accounts.signin import factors

MESSAGE = "Set up two-factor authentication to use the operator admin."


@cache
def _admin_paths() -> tuple[str, str, str]:
    """Return the admin's prefix, then its login and logout paths (the URL conf is fixed)."""
    return reverse("admin:index"), reverse("admin:login"), reverse("admin:logout")


class AdminTwoFactorMiddleware:
    """Send signed-in staff without a second factor from /admin/ to the Security page."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.KEYWARD_ADMIN_REQUIRE_TWO_FACTOR and self._refused(request):
            messages.warning(request, MESSAGE)
            return redirect("accounts:security")
        return self.get_response(request)

    @staticmethod
    def _refused(request: HttpRequest) -> bool:
        path = request.path_info
        if not path.startswith(_admin_paths()[0]) or path in _admin_paths()[1:]:
            return False
        user = getattr(request, "user", None)
        return bool(user and user.is_authenticated and user.is_staff) and not (
            factors.has_two_factor(user)
        )
