"""Under a workspace ceiling no token goes unlimited: tokens created without the limit get the
ceiling (API and Add token dialog), and removing it is refused (API and Edit limits)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from gateway.limit_models import LimitPolicy, TokenLimits
from tests.factories import HTMX, issue, signed_in
from tests.gateway.test_limit_api import TOKENS, call
from tests.gateway.test_limit_console import create_form, limits_url
from tokens.models import Token


@pytest.fixture
def writer_secret(admin_user, workspace):
    # Issued before the ceilings: it has no limits of its own.
    return issue(admin_user, workspace, "api", scopes=["tokens:read", "tokens:write"])[1]


@pytest.fixture
def ceilings(workspace, writer_secret) -> LimitPolicy:
    """Cap the rate at 120 a minute and the quota at 5000 uses, without defaults."""
    return LimitPolicy.objects.create(workspace=workspace, max_rate_per_minute=120, max_quota=5000)


# API


def test_a_token_created_without_limits_gets_the_ceilings(client, writer_secret, ceilings):
    body = {"name": "plain", "scopes": ["tokens:read"]}
    response = call(client, "post", TOKENS, writer_secret, body)
    assert response.status_code == 201, response.content
    assert response.json()["rate_limit"] == {"requests": 120, "per": "minute", "burst": 120}
    assert (response.json()["quota"]["uses"], response.json()["quota"]["period"]) == (
        5000,
        "month",
    )


def test_a_token_created_with_one_limit_gets_the_ceiling_for_the_other(
    client, writer_secret, ceilings
):
    body = {
        "name": "fast",
        "scopes": ["tokens:read"],
        "rate_limit": {"requests": 1, "per": "second"},
    }
    response = call(client, "post", TOKENS, writer_secret, body)
    assert response.status_code == 201, response.content
    assert response.json()["rate_limit"] == {"requests": 1, "per": "second", "burst": 1}
    assert response.json()["quota"]["uses"] == 5000


def test_creating_a_token_explicitly_without_a_capped_limit_is_refused(
    client, writer_secret, ceilings
):
    body = {"name": "bad", "scopes": ["tokens:read"], "rate_limit": None}
    response = call(client, "post", TOKENS, writer_secret, body)
    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"
    assert response.json()["fields"] == {
        "rate_limit": ["This workspace requires a rate limit of at most 120 requests per minute."]
    }
    assert not Token.objects.filter(name="bad").exists()


def test_patch_removing_a_capped_limit_is_refused_and_keeps_it(
    client, writer_secret, admin_user, workspace, ceilings
):
    token, _ = issue(admin_user, workspace, "capped")
    path = f"{TOKENS}/{token.public_id}"
    for body, field, words in (
        ({"rate_limit": None}, "rate_limit", "a rate limit of at most 120 requests per minute"),
        ({"quota": None}, "quota", "a quota of at most 5000 uses"),
    ):
        response = call(client, "patch", path, writer_secret, body)
        assert response.status_code == 400
        assert response.json()["error"] == "validation_error"
        assert response.json()["fields"] == {field: [f"This workspace requires {words}."]}
    row = TokenLimits.objects.get(token=token)
    assert (row.rate, row.quota) == (120, 5000)


def test_patching_an_unlimited_token_caps_the_limit_not_sent(
    client, writer_secret, admin_user, workspace
):
    token, _ = issue(admin_user, workspace, "before-the-ceiling")
    LimitPolicy.objects.create(workspace=workspace, max_rate_per_minute=60)
    path = f"{TOKENS}/{token.public_id}"
    response = call(client, "patch", path, writer_secret, {"quota": {"uses": 9}})
    assert response.status_code == 200, response.content
    assert response.json()["rate_limit"] == {"requests": 60, "per": "minute", "burst": 60}
    assert response.json()["quota"]["uses"] == 9


def test_a_patch_without_limits_leaves_them_alone(client, writer_secret, admin_user, workspace):
    token, _ = issue(admin_user, workspace, "before-the-ceiling")
    LimitPolicy.objects.create(workspace=workspace, max_rate_per_minute=60)
    path = f"{TOKENS}/{token.public_id}"
    response = call(client, "patch", path, writer_secret, {"name": "renamed"})
    assert response.status_code == 200, response.content
    assert not TokenLimits.objects.filter(token=token).exists()


# Console


def test_the_add_dialog_shows_the_ceilings_filled_in(admin_user, workspace, ceilings):
    page = signed_in(admin_user).get(reverse("tokens:create", args=[workspace.slug])).text
    assert 'name="limits-rate" value="120"' in page
    assert 'name="limits-quota" value="5000"' in page
    assert "This workspace allows at most 120 requests per minute, a quota of 5000 uses." in page


def test_the_add_dialog_refuses_a_cleared_capped_limit(admin_user, workspace, ceilings):
    data = create_form(
        **{
            "limits-rate": "",
            "limits-rate_period": "minute",
            "limits-quota": "10",
            "limits-quota_period": "month",
        }
    )
    url = reverse("tokens:create", args=[workspace.slug])
    response = signed_in(admin_user).post(url, data, **HTMX)
    assert (
        "This workspace requires a rate limit of at most 120 requests per minute."
        in (response.text.split('id="id_limits-rate_error"')[1])
    )
    assert not Token.objects.filter(name="new-one").exists()


def test_the_add_dialog_without_its_section_sent_gives_the_ceilings(
    admin_user, workspace, ceilings
):
    url = reverse("tokens:create", args=[workspace.slug])
    response = signed_in(admin_user).post(url, create_form(), **HTMX)
    assert response.status_code == 200
    row = TokenLimits.objects.get(token__name="new-one")
    assert (row.rate, row.quota) == (120, 5000)


def test_edit_limits_of_an_unlimited_token_shows_the_ceiling_and_refuses_none(
    admin_user, workspace
):
    token, _ = issue(admin_user, workspace, "before-the-ceiling")
    LimitPolicy.objects.create(workspace=workspace, max_rate_per_minute=60)
    client = signed_in(admin_user)
    dialog = client.get(limits_url(workspace, token), **HTMX).text
    assert 'name="rate" value="60"' in dialog
    data = {"rate": "", "rate_period": "minute", "quota": "", "quota_period": "month"}
    response = client.post(limits_url(workspace, token), data, **HTMX)
    assert (
        "requires a rate limit of at most 60 requests per minute"
        in (response.text.split('id="id_rate_error"')[1])
    )
    assert not TokenLimits.objects.filter(token=token).exists()
