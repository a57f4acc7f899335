"""Changing KEYWARD_TOKEN_PREFIX: tokens issued under an accepted earlier prefix keep working."""

from __future__ import annotations

import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

from tests.factories import issue
from tokens import secrets, services
from tokens.auth import AuthenticationFailed, authenticate_token

pytestmark = pytest.mark.django_db
DOC = Path(__file__).resolve().parents[2] / "docs" / "secret-scanning.md"


@pytest.fixture
def old_token(workspace, admin_user):
    """Return (token, secret) issued under the default prefix kw."""
    return issue(admin_user, workspace, "issued-under-kw", scopes=["workspace:read"])


def test_a_token_issued_under_an_accepted_old_prefix_still_authenticates(
    settings, old_token, workspace, admin_user
):
    token, secret = old_token
    settings.KEYWARD_TOKEN_PREFIX = "acme"
    settings.KEYWARD_TOKEN_PREFIXES_ACCEPTED = ["kw"]

    assert authenticate_token(secret).public_id == token.public_id
    response = Client().get("/api/v1/whoami", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 200
    assert services.token_find_by_value(secret) == token
    _, new_secret = issue(admin_user, workspace, "issued-under-acme")
    assert new_secret.startswith("acmew_")
    assert authenticate_token(new_secret).name == "issued-under-acme"


def test_without_it_the_old_prefix_is_refused(settings, old_token):
    _, secret = old_token
    settings.KEYWARD_TOKEN_PREFIX = "acme"

    with pytest.raises(AuthenticationFailed):
        authenticate_token(secret)


def test_the_secret_scanning_patterns_find_tokens_of_every_accepted_prefix(
    settings, old_token, workspace, admin_user
):
    _, old_secret = old_token
    settings.KEYWARD_TOKEN_PREFIX = "acme"
    settings.KEYWARD_TOKEN_PREFIXES_ACCEPTED = ["kw"]
    _, new_secret = issue(admin_user, workspace, "issued-under-acme")
    out = StringIO()

    call_command("secret_scanning_patterns", stdout=out)

    rows = dict(line.split("\t") for line in out.getvalue().splitlines())
    assert set(rows) == {"keyward_workspace_token", "keyward_personal_token"}
    workspace_tokens = re.compile(rows["keyward_workspace_token"])
    assert workspace_tokens.fullmatch(old_secret) and workspace_tokens.fullmatch(new_secret)
    assert not re.search(rows["keyward_personal_token"], f"{old_secret} {new_secret}")
    # The example in docs/secret-scanning.md is this very expression.
    assert workspace_tokens.pattern == secrets.token_pattern("acme", ["kw"], "workspace")
    assert f"`{workspace_tokens.pattern}`" in DOC.read_text()
