"""Routes of the gateway: the forward-auth check (and its Envoy form with the path appended),
and the console's HTTP service dialogs under Settings → Resources (gateway/console_urls.py)."""

from django.urls import path, re_path

from gateway import console_urls, views

app_name = "gateway"
urlpatterns = [
    path("gateway/check", views.check, name="check"),
    re_path(r"^gateway/check/envoy/(?P<path>(?s:.*))$", views.check, name="check_envoy"),
    *console_urls.urlpatterns,
]
