"""Routes of the tokens app: the JSON API."""

from django.urls import path

from tokens.api import api

urlpatterns = [
    path("api/v1/", api.urls),
]
