"""Routes of the per-token limits in the Tokens tab."""

from django.urls import path

from gateway import limit_views
from tokens.urls import TOKEN

app_name = "gateway_limits"

urlpatterns = [
    path(f"{TOKEN}/limits/", limit_views.token_limits_edit, name="edit"),
]
