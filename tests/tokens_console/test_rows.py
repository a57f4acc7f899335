"""The Tokens tab's rows drawn in Python (tokens/rows.py) are the rows the template drew."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.template import Context, Template
from django.utils import timezone

from tests.factories import actor_of, issue
from tokens import rows, services
from tokens.actors import Actor
from tokens.models import Resource, RevokeReason, Token, TokenKind

# templates/tokens/list.html's {% partial token-row %} before the rows moved to Python.
REFERENCE = Template((Path(__file__).parent / "token_row_reference.html").read_text())
HOSTILE = "<script>alert(\"x\")</script> & 'quotes'"
CSRF = "csrf-value-of-the-page"


@pytest.fixture
def every_kind(workspace, retrievable, admin_user, manager_user, member_user) -> list[Token]:
    """Return tokens of every kind and status, holding every optional fact a row shows."""
    now = timezone.now()
    hostile_db = Resource.objects.create(workspace=workspace, name=HOSTILE)
    orders_db = Resource.objects.create(workspace=workspace, name="orders-db")
    made = {
        "restricted": issue(
            manager_user,
            workspace,
            "k8s-connector",
            description="Deploys from main",
            scopes=["workspace:read", "members:read", "tokens:read"],
            resource_ids=[hostile_db.pk, orders_db.pk],
            allowed_ips="10.0.0.0/8\n192.168.0.0/16",
            expires_at=now + timedelta(days=3),
        )[0],
        "hostile": issue(
            admin_user,
            workspace,
            HOSTILE,
            description=HOSTILE,
            resource_ids=[orders_db.pk],
            allowed_ips="203.0.113.0/24",
            expires_at=now + timedelta(days=40),
        )[0],
        # What stands for a token in the buttons drawn once per page (tokens/rows.py).
        "placeholders": issue(manager_user, workspace, "~subject~ ~key~ ~token~ ~subject~")[0],
        "personal": issue(admin_user, workspace, "ada-laptop", kind=TokenKind.PERSONAL)[0],
        "member_personal": issue(member_user, workspace, "mia-laptop", kind=TokenKind.PERSONAL)[0],
        "never_used": issue(manager_user, workspace, "never-used")[0],
        "expired": issue(manager_user, workspace, "expired", expires_at=now + timedelta(days=1))[0],
        "revoked": issue(manager_user, workspace, "revoked", expires_at=now + timedelta(days=9))[0],
        "revoked_forever": issue(manager_user, workspace, "revoked-forever")[0],
        "rotating": issue(manager_user, workspace, "rotating", expires_at=now + timedelta(days=20))[
            0
        ],
        "by_token": issue(manager_user, workspace, "made-by-a-token")[0],
        "by_keyward": issue(manager_user, workspace, "made-by-keyward")[0],
        "for_someone": issue(admin_user, workspace, "for-someone", kind=TokenKind.PERSONAL)[0],
    }
    admin = actor_of(admin_user, workspace)
    services.token_revoke(actor=admin, token=made["revoked"])
    services.token_revoke(actor=admin, token=made["revoked_forever"], reason=RevokeReason.LEAK)
    moved = {
        "expired": {"expires_at": now - timedelta(hours=5)},
        "rotating": {"revoked_at": now + timedelta(hours=20), "revoke_reason": "rotation"},
        "by_token": {"created_by": None, "created_by_token": made["restricted"]},
        "by_keyward": {"created_by": None, "encrypted_secret": ""},
        "for_someone": {"owner": member_user},
        "restricted": {"last_used_at": now - timedelta(hours=2), "last_used_ip": "10.4.2.17"},
        "hostile": {"last_used_at": now - timedelta(days=3), "last_used_ip": None},
    }
    for key, fields in moved.items():
        Token.objects.filter(pk=made[key].pk).update(**fields)
    return list(
        rows.with_row_relations(
            Token.objects.filter(pk__in=[token.pk for token in made.values()])
        ).order_by("pk")
    )


def same_html(html: str) -> str:
    """Return `html` with each run of whitespace made one space: what a browser shows alike."""
    return re.sub(r"\s+", " ", str(html)).strip()


def drawn_by_the_template(token, workspace, actor, retrievable=True) -> str:
    context = {
        "row": token,
        "workspace": workspace,
        "actor": actor,
        "retrievable": retrievable,
        "csrf_token": CSRF,
    }
    return same_html(REFERENCE.render(Context(context)))


def drawn_in_python(token, workspace, actor, retrievable=True) -> str:
    page = rows.RowPage(slug=workspace.slug, actor=actor, retrievable=retrievable, csrf_token=CSRF)
    return same_html(rows.render_row(token, page))


@pytest.mark.parametrize("who", ["admin", "manager", "member", "operator"])
def test_every_row_is_the_one_the_template_drew(
    every_kind, workspace, who, admin_user, manager_user, member_user, operator
):
    people = {"admin": admin_user, "manager": manager_user, "member": member_user}
    actor = Actor.operator(operator) if who == "operator" else actor_of(people[who], workspace)
    assert len({str(token.status()) for token in every_kind}) == 3

    for token in every_kind:
        for retrievable in (True, False):
            assert drawn_in_python(token, workspace, actor, retrievable) == drawn_by_the_template(
                token, workspace, actor, retrievable
            ), token.name


def test_the_rows_of_a_page_are_its_tokens_rows_in_order(every_kind, workspace, admin_user):
    actor = actor_of(admin_user, workspace)
    page = rows.RowPage(slug=workspace.slug, actor=actor, retrievable=True, csrf_token=CSRF)

    drawn = same_html(rows.render_rows(every_kind, page))

    assert drawn == " ".join(drawn_by_the_template(token, workspace, actor) for token in every_kind)


def test_user_text_stays_escaped(every_kind, workspace, admin_user):
    actor = actor_of(admin_user, workspace)
    page = rows.RowPage(slug=workspace.slug, actor=actor, retrievable=True, csrf_token=CSRF)

    drawn = str(rows.render_rows(every_kind, page))

    assert "<script>" not in drawn
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;quotes&#x27;" in drawn
    # Name (link title and text, three button labels, two reveal labels), description, resource.
    assert drawn.count("&lt;script&gt;") >= 8


def test_a_row_drawn_alone_is_the_row_of_the_list(every_kind, workspace, admin_user):
    """A row redrawn after an action reads its token (and its resources) by itself."""
    actor = actor_of(admin_user, workspace)
    page = rows.RowPage(slug=workspace.slug, actor=actor, retrievable=True, csrf_token=CSRF)

    listed = same_html(rows.render_rows(every_kind, page))

    alone = [Token.objects.get(pk=token.pk) for token in every_kind]
    assert listed == " ".join(drawn_in_python(token, workspace, actor) for token in alone)
    assert any(getattr(token, rows.RESOURCE_NAMES) for token in every_kind)
