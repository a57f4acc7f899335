"""Routes of the per-token limits in the Tokens tab, and of Settings → Limits & usage."""

from django.urls import path

from gateway import limit_policy_views, limit_views
from tokens.urls import TOKEN

app_name = "gateway_limits"

urlpatterns = [
    path(f"{TOKEN}/limits/", limit_views.token_limits_edit, name="edit"),
    path(
        "w/<slug:slug>/settings/limits/",
        limit_policy_views.limit_policy_settings,
        name="policy",
    ),
    path(
        "w/<slug:slug>/settings/limits/preview/",
        limit_policy_views.limit_policy_preview,
        name="policy_preview",
    ),
]
