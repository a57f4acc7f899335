"""The console's HTTP service dialogs, under Settings → Resources (included by gateway/urls.py)."""

from django.urls import path

from gateway import console

RESOURCE = "w/<slug:slug>/settings/resources/<int:pk>"

urlpatterns = [
    path(f"{RESOURCE}/service/", console.service_edit, name="service_edit"),
    path(f"{RESOURCE}/service/delete/", console.service_delete, name="service_delete"),
]
