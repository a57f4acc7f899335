"""Routes of the Tokens tab (the JSON API is mounted in config/urls.py)."""

from django.urls import path

from tokens.views import scanning, tokens

app_name = "tokens"

urlpatterns = [
    path(
        "integrations/github/secret-scanning/",
        scanning.github_secret_scanning,
        name="github_secret_scanning",
    ),
    path("w/<slug:slug>/settings/tokens/", tokens.token_list, name="list"),
    path("w/<slug:slug>/settings/tokens/new/", tokens.token_create, name="create"),
    path(
        "w/<slug:slug>/settings/tokens/<str:public_id>/rename/", tokens.token_rename, name="rename"
    ),
    path(
        "w/<slug:slug>/settings/tokens/<str:public_id>/rotate/", tokens.token_rotate, name="rotate"
    ),
    path(
        "w/<slug:slug>/settings/tokens/<str:public_id>/revoke/", tokens.token_revoke, name="revoke"
    ),
]
