"""Routes of the console's usage pages (under a token of the Tokens tab)."""

from django.urls import path

from gateway import usage_views

app_name = "usage"
urlpatterns = [
    path(
        "w/<slug:slug>/settings/tokens/<str:public_id>/usage.csv",
        usage_views.usage_csv,
        name="csv",
    ),
]
