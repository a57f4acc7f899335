"""Routes of the Tokens, Resources and Policies tabs (the JSON API is mounted in config/urls.py)."""

from django.urls import path

from tokens.views import activity, check, policies, resources, reveal, scanning, tokens

app_name = "tokens"

TOKENS = "w/<slug:slug>/settings/tokens"
TOKEN = f"{TOKENS}/<str:public_id>"
RESOURCES = "w/<slug:slug>/settings/resources"

urlpatterns = [
    path(
        "integrations/github/secret-scanning/",
        scanning.github_secret_scanning,
        name="github_secret_scanning",
    ),
    path(f"{TOKENS}/", tokens.token_list, name="list"),
    path(f"{TOKENS}/new/", tokens.token_create, name="create"),
    path(f"{TOKENS}/check/", check.token_check, name="check"),
    path(f"{TOKEN}/rename/", tokens.token_rename, name="rename"),
    path(f"{TOKEN}/rotate/", tokens.token_rotate, name="rotate"),
    path(f"{TOKEN}/revoke/", tokens.token_revoke, name="revoke"),
    path(f"{TOKEN}/reveal/", reveal.token_reveal, name="reveal"),
    path(f"{TOKEN}/activity/", activity.token_activity, name="activity"),
    path(f"{RESOURCES}/", resources.resource_list, name="resources"),
    path(f"{RESOURCES}/new/", resources.resource_create, name="resource_create"),
    path(f"{RESOURCES}/<int:pk>/rename/", resources.resource_rename, name="resource_rename"),
    path(f"{RESOURCES}/<int:pk>/delete/", resources.resource_delete, name="resource_delete"),
    path("w/<slug:slug>/settings/policies/", policies.policy_settings, name="policies"),
]
