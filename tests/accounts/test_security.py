"""Security: CSRF on HTMX posts, CSP with nonces, framing, password hashing, deploy check."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.hashers import make_password
from django.test import Client
from django.urls import reverse

import config.settings as production_settings
from accounts.invitation_links import invitation_link_token
from accounts.models import Invitation
from tests.conftest import PASSWORD
from tests.factories import HTMX

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parents[2]


# CSRF -------------------------------------------------------------------------------


@pytest.fixture
def csrf_client(admin_user) -> Client:
    """Return a client that enforces CSRF like a browser's requests meet it, signed in as Admin."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    return client


def _invite(client, **headers):
    return client.post(
        reverse("accounts:member_invite", args=["acme"]),
        {"email": "someone@example.com", "role": "member"},
        **HTMX,
        **headers,
    )


def test_htmx_post_without_csrf_token_is_refused(csrf_client):
    csrf_client.get(reverse("accounts:members", args=["acme"]))  # sets the csrftoken cookie

    response = _invite(csrf_client)

    assert response.status_code == 403
    assert not Invitation.objects.exists()


def test_htmx_post_with_a_wrong_csrf_token_is_refused(csrf_client):
    csrf_client.get(reverse("accounts:members", args=["acme"]))

    response = _invite(csrf_client, HTTP_X_CSRFTOKEN="x" * 32)

    assert response.status_code == 403
    assert not Invitation.objects.exists()


def test_htmx_post_with_the_cookie_token_in_the_header_succeeds(csrf_client):
    csrf_client.get(reverse("accounts:members", args=["acme"]))

    response = _invite(csrf_client, HTTP_X_CSRFTOKEN=csrf_client.cookies["csrftoken"].value)

    assert response.status_code == 200
    assert Invitation.objects.get().email == "someone@example.com"


def test_the_page_gives_htmx_a_working_csrf_header(csrf_client):
    page = csrf_client.get(reverse("accounts:members", args=["acme"])).content.decode()
    match = re.search(r"""<body[^>]*hx-headers='\{"X-CSRFToken": "([^"]+)"\}'""", page)
    assert match, "the <body> must carry hx-headers with the CSRF token"

    response = _invite(csrf_client, HTTP_X_CSRFTOKEN=match.group(1))

    assert response.status_code == 200
    assert Invitation.objects.exists()


# CSP and framing -------------------------------------------------------------------------


CONSOLE_PAGES = [
    ("accounts:workspace_overview", ["acme"]),
    ("accounts:members", ["acme"]),
    ("accounts:member_invite", ["acme"]),
    ("tokens:resources", ["acme"]),
    ("tokens:policies", ["acme"]),
    ("accounts:workspace_create", []),
    ("accounts:password_change", []),
]
PUBLIC_PAGES = [
    ("accounts:login", []),
    ("accounts:signup", []),
    ("accounts:password_reset", []),
]


def _csp(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def _assert_csp_protects(response) -> None:
    header = response["Content-Security-Policy"]
    assert "unsafe-inline" not in header
    assert "unsafe-eval" not in header
    csp = _csp(response)
    nonces = [v for v in csp["script-src"] if v.startswith("'nonce-")]
    assert len(nonces) == 1
    nonce = nonces[0].removeprefix("'nonce-").removesuffix("'")
    assert len(nonce) >= 16
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]

    page = response.content.decode()
    scripts = re.findall(r"<script\b[^>]*>", page)
    assert scripts, "the page should load htmx and the console scripts"
    for tag in scripts:
        assert f'nonce="{nonce}"' in tag, tag
        assert " src=" in tag, f"inline scripts are not allowed: {tag}"
    # Inline styles and htmx's eval-based attributes would break under this CSP.
    assert not re.search(r"\sstyle=", page)
    assert "hx-on" not in page


@pytest.mark.parametrize(("name", "args"), CONSOLE_PAGES)
def test_console_pages_have_a_strict_csp_with_nonced_scripts(client, admin_user, name, args):
    client.force_login(admin_user)

    response = client.get(reverse(name, args=args))

    assert response.status_code == 200
    _assert_csp_protects(response)


@pytest.mark.parametrize(("name", "args"), PUBLIC_PAGES)
def test_public_pages_have_a_strict_csp_with_nonced_scripts(client, db, name, args):
    response = client.get(reverse(name, args=args))

    assert response.status_code == 200
    _assert_csp_protects(response)


def test_invitation_page_has_a_strict_csp_with_nonced_scripts(client, invitation):
    response = client.get(
        reverse("accounts:invitation_accept", args=[invitation_link_token(invitation)])
    )

    _assert_csp_protects(response)


def test_each_response_gets_a_fresh_nonce(client, db):
    first = _csp(client.get(reverse("accounts:login")))["script-src"]
    second = _csp(client.get(reverse("accounts:login")))["script-src"]

    assert first != second


def test_htmx_config_turns_off_eval_and_inline_styles(client, db):
    page = client.get(reverse("accounts:login")).content.decode()
    match = re.search(r"""<meta name="htmx-config" content='([^']*)'>""", page)

    assert match
    assert '"includeIndicatorStyles": false' in match.group(1)
    assert '"allowEval": false' in match.group(1)


def test_public_pages_cannot_be_framed(client, db):
    assert client.get(reverse("accounts:login"))["X-Frame-Options"] == "DENY"


def test_console_pages_cannot_be_framed(client, admin_user):
    client.force_login(admin_user)

    response = client.get(reverse("accounts:members", args=["acme"]))

    assert response["X-Frame-Options"] == "DENY"


def test_responses_forbid_content_sniffing_and_leak_no_referrer(client, db):
    response = client.get(reverse("accounts:login"))

    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_session_cookie_is_http_only_and_same_site(client, admin_user):
    client.post(reverse("accounts:login"), {"username": admin_user.email, "password": PASSWORD})

    cookie = client.cookies["sessionid"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"


# Passwords and deployment --------------------------------------------------------------


def test_argon2_hashes_passwords_in_production():
    assert production_settings.PASSWORD_HASHERS[0] == (
        "django.contrib.auth.hashers.Argon2PasswordHasher"
    )


def test_production_hashers_store_argon2_hashes(settings):
    settings.PASSWORD_HASHERS = production_settings.PASSWORD_HASHERS

    assert make_password(PASSWORD).startswith("argon2$argon2id$")


def test_production_settings_validate_passwords():
    names = {v["NAME"].rsplit(".", 1)[-1] for v in production_settings.AUTH_PASSWORD_VALIDATORS}

    assert {"MinimumLengthValidator", "CommonPasswordValidator"} <= names


def test_check_deploy_reports_no_issues_with_production_settings():
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "KEYWARD_", "DATABASE_", "EMAIL_"))
    }
    env |= {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50)[:50],
        "ALLOWED_HOSTS": "example.com",
        "KEYWARD_HTTPS": "1",
        # The README's production steps set the email settings; without a mail server
        # Django 6.1's deploy check rightly flags the console mailer (mail.E001).
        "EMAIL_HOST": "smtp.example.com",
    }

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "no issues" in output
