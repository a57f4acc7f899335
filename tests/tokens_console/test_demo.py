"""The demo tokens `seed_demo` adds to Acme: realistic, shown in the console, added once."""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent, User
from tests.factories import actor_of, signed_in
from tests.tokens_console.conftest import parse
from tokens import scopes as scope_catalogue
from tokens import services
from tokens.models import Resource, RevokeReason, Token, TokenKind

pytestmark = pytest.mark.django_db

LIST = reverse("tokens:list", args=["acme"])
OVERVIEW = reverse("accounts:workspace_overview", args=["acme"])
# A token value: the prefix, then the random part and checksum.
SECRET = re.compile(r"kw[wp]_[A-Za-z0-9]{20,}")


@pytest.fixture(autouse=True)
def _no_demo_password(monkeypatch, settings):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    settings.DEBUG = True  # seed_demo is for development


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def snapshot() -> tuple:
    """Return everything about the demo tokens that a second run must leave alone."""
    return (
        list(
            Token.objects.order_by("pk").values_list(
                "pk", "name", "digest", "scopes", "expires_at", "last_used_at", "revoked_at"
            )
        ),
        list(Resource.objects.order_by("pk").values_list("pk", "name")),
        list(Token.resources.through.objects.order_by("pk").values_list("token_id", "resource_id")),
        AuditEvent.objects.count(),
    )


def _user(email: str) -> User:
    return User.objects.get(email=email)


def test_the_demo_has_a_few_realistic_tokens():
    seed()

    tokens = {t.name: t for t in Token.objects.select_related("owner", "created_by")}
    assert set(tokens) == {
        "ci-deploy",
        "k8s-connector",
        "nightly-backup",
        "token-auditor",
        "mia-laptop",
        "legacy-ci",
    }
    active = {name for name, token in tokens.items() if token.is_active}
    assert active == set(tokens) - {"legacy-ci"}
    assert tokens["legacy-ci"].revoke_reason == RevokeReason.USER
    assert tokens["mia-laptop"].kind == TokenKind.PERSONAL
    assert tokens["mia-laptop"].owner.email == "member@example.com"
    assert {t.kind for n, t in tokens.items() if n != "mia-laptop"} == {TokenKind.WORKSPACE}
    assert tokens["ci-deploy"].created_by.email == "manager@example.com"


def test_demo_tokens_have_varied_limits_and_uses():
    seed()
    now = timezone.now()

    tokens = {t.name: t for t in Token.objects.prefetch_related("resources")}
    connector = tokens["k8s-connector"]
    assert connector.expires_at is None
    assert connector.allowed_ips == ["10.0.0.0/8"]
    assert [r.name for r in connector.resources.all()] == ["production-db"]
    assert now < tokens["nightly-backup"].expires_at <= now + timedelta(days=7)  # warns in the list
    assert tokens["ci-deploy"].expires_at > now + timedelta(days=80)
    assert tokens["ci-deploy"].last_used_ip == "140.82.112.4"
    assert tokens["ci-deploy"].last_used_user_agent.startswith("GitHub-Actions")
    assert tokens["token-auditor"].last_used_at is None
    used = {name for name, token in tokens.items() if token.last_used_at}
    assert used == {"ci-deploy", "k8s-connector", "nightly-backup", "mia-laptop"}
    assert set(Resource.objects.values_list("name", flat=True)) == {
        "production-db",
        "staging-db",
        "package-index",
    }


def test_demo_tokens_hold_only_scopes_their_creators_may_grant():
    seed()

    for token in Token.objects.exclude(created_by=None).select_related("created_by"):
        role = token.created_by.memberships.get(workspace=token.workspace).role
        assert set(token.scopes) <= scope_catalogue.grantable_by(role), token.name


def test_demo_tokens_were_made_through_the_service_with_an_audit_trail():
    seed()

    for token in Token.objects.all():
        created = AuditEvent.objects.filter(action="token.created", target_id=token.public_id)
        assert created.count() == 1, token.name
    assert AuditEvent.objects.filter(action="token.revoked").count() == 1


def test_seeding_prints_no_secret():
    out = seed()

    assert not SECRET.search(out)
    assert "Demo ready" in out


def test_seeding_twice_adds_and_changes_nothing():
    seed()
    before = snapshot()

    seed()

    assert snapshot() == before


def test_seeding_again_does_not_bring_back_a_token_the_user_revoked():
    seed()
    admin = _user("admin@example.com")
    token = Token.objects.get(name="ci-deploy")
    services.token_revoke(actor=actor_of(admin, token.workspace), token=token)
    before = snapshot()

    seed()

    assert snapshot() == before
    assert not Token.objects.active().filter(name="ci-deploy").exists()


def test_the_demo_tokens_tab_is_populated_for_the_admin():
    seed()
    client = signed_in(_user("admin@example.com"))

    dom = parse(client.get(LIST))

    names = [
        tr.find("span", class_="strong").text()
        for tr in dom.find_all("tr")
        if "token-row" in tr.classes()
    ]
    assert set(names) == {
        "ci-deploy",
        "k8s-connector",
        "nightly-backup",
        "token-auditor",
        "mia-laptop",
    }
    assert dom.find("a", **{"aria-label": "Rotate ci-deploy"})
    assert (
        "⚠"
        in dom.find("tr", id=f"token-{Token.objects.get(name='nightly-backup').public_id}").text()
    )


def test_the_demo_member_sees_their_laptop_token_and_no_workspace_controls():
    seed()
    client = signed_in(_user("member@example.com"))

    dom = parse(client.get(LIST))

    labels = {a.attrs["aria-label"] for a in dom.find_all("a") if "aria-label" in a.attrs}
    assert {"Rename mia-laptop", "Rotate mia-laptop", "Revoke mia-laptop"} <= labels
    assert not {label for label in labels if label.endswith("ci-deploy")}


def test_the_demo_overview_shows_token_health_and_activity():
    seed()
    client = signed_in(_user("admin@example.com"))

    dom = parse(client.get(OVERVIEW))

    values = {
        a.find("span", class_="stat-label").text(): int(a.find("span", class_="stat-value").text())
        for a in dom.find_all("a")
        if "stat-card" in a.classes()
    }
    assert values == {
        "active tokens": 5,
        "expiring within 7 days": 1,
        "unused for 30 days": 0,
        "revoked in the last 30 days": 1,
    }
    assert "Revoked legacy-ci" in dom.text()
