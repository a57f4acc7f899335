"""Routes of the gateway: the forward-auth check, and its Envoy form with the path appended."""

from django.urls import path, re_path

from gateway import views

app_name = "gateway"
urlpatterns = [
    path("check", views.check, name="check"),
    re_path(r"^check/envoy/(?P<path>(?s:.*))$", views.check, name="check_envoy"),
]
