"""Console views per role, with and without HTMX; sign-in, sign-up and invitation flows."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import pytest
from django.contrib.auth import SESSION_KEY, authenticate
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import services
from accounts.invitation_links import invitation_link_token
from accounts.models import AuditEvent, Invitation, Membership, TotpDevice, User, Workspace
from accounts.roles import Role
from tests.conftest import PASSWORD, make_member
from tests.factories import HTMX
from tests.mail_backends import FAILING

pytestmark = pytest.mark.django_db

WHO = ["admin_user", "manager_user", "member_user", "outsider"]


@pytest.fixture
def everyone(admin_user, manager_user, member_user, outsider, invitation):
    """Create the Admin, Manager, Member, an outsider and a pending invitation."""
    return {
        "admin_user": admin_user,
        "manager_user": manager_user,
        "member_user": member_user,
        "outsider": outsider,
    }


@pytest.fixture
def admin_client_acme(client, admin_user):
    """Return the test client signed in as acme's Admin."""
    client.force_login(admin_user)
    return client


def _membership(user) -> Membership:
    return Membership.objects.get(user=user, workspace__slug="acme")


def _state() -> tuple:
    """Return a snapshot of everything the member views may change."""
    return (
        list(Membership.objects.order_by("id").values_list("id", "user_id", "role")),
        list(
            Invitation.objects.order_by("id").values_list(
                "id", "email", "key", "sent_at", "cancelled_at", "accepted_at"
            )
        ),
        AuditEvent.objects.count(),
        len(mail.outbox),
    )


def _triggers(response) -> dict:
    return json.loads(response["HX-Trigger"])


# The access matrix -----------------------------------------------------------------


@dataclass(frozen=True)
class ConsoleView:
    name: str
    method: str
    lowest_role: Role
    # Status of a successful request, without and with HTMX.
    ok: tuple[int, int]

    def url(self, invitation: Invitation, target: Membership) -> str:
        kwargs = {"slug": "acme"}
        if self.name in {"member_role", "member_remove_confirm", "member_remove"}:
            kwargs["pk"] = target.pk
        elif self.name in {"invitation_resend", "invitation_cancel"}:
            kwargs["pk"] = invitation.pk
        url_name = "member_remove" if self.name == "member_remove_confirm" else self.name
        return reverse(f"accounts:{url_name}", kwargs=kwargs)

    def data(self) -> dict:
        if self.method != "post":
            return {}
        return {
            "member_invite": {"email": "someone@example.com", "role": "member"},
            "member_role": {"role": "manager"},
        }.get(self.name, {})


VIEWS = [
    ConsoleView("workspace_overview", "get", Role.MEMBER, (200, 200)),
    ConsoleView("settings", "get", Role.MEMBER, (302, 302)),
    ConsoleView("members", "get", Role.MEMBER, (200, 200)),
    ConsoleView("audit", "get", Role.MANAGER, (200, 200)),
    ConsoleView("member_invite", "get", Role.ADMIN, (200, 200)),
    ConsoleView("member_invite", "post", Role.ADMIN, (302, 200)),
    ConsoleView("member_role", "post", Role.ADMIN, (302, 200)),
    ConsoleView("member_remove_confirm", "get", Role.ADMIN, (200, 200)),
    ConsoleView("member_remove", "post", Role.ADMIN, (302, 200)),
    ConsoleView("invitation_resend", "post", Role.ADMIN, (302, 200)),
    ConsoleView("invitation_cancel", "post", Role.ADMIN, (302, 200)),
]
# Spelled out here rather than taken from Role.at_least, so the matrix checks the app's ranking.
ALLOWED = {
    Role.MEMBER: {"admin_user", "manager_user", "member_user"},
    Role.MANAGER: {"admin_user", "manager_user"},
    Role.ADMIN: {"admin_user"},
}


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("view", VIEWS, ids=lambda v: f"{v.method}-{v.name}")
def test_access_matrix(client, everyone, invitation, view, who, htmx):
    client.force_login(everyone[who])
    url = view.url(invitation, _membership(everyone["member_user"]))
    headers = HTMX if htmx else {}

    response = getattr(client, view.method)(url, view.data(), **headers)

    if who == "outsider":
        expected = 404
    elif who in ALLOWED[view.lowest_role]:
        expected = view.ok[htmx]
    else:
        expected = 403
    assert response.status_code == expected


@pytest.mark.parametrize("view", VIEWS, ids=lambda v: f"{v.method}-{v.name}")
def test_anonymous_visitors_are_sent_to_sign_in(client, everyone, invitation, view):
    url = view.url(invitation, _membership(everyone["member_user"]))
    before = _state()

    response = getattr(client, view.method)(url, view.data())

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:login')}?next={url}"
    assert _state() == before


@pytest.mark.parametrize("name", ["member_role", "invitation_resend", "invitation_cancel"])
def test_post_only_actions_refuse_get(admin_client_acme, everyone, invitation, name):
    pk = invitation.pk if name.startswith("invitation") else _membership(everyone["member_user"]).pk
    before = _state()

    response = admin_client_acme.get(reverse(f"accounts:{name}", args=["acme", pk]))

    assert response.status_code == 405
    assert _state() == before


# Forged requests from roles too low change nothing ----------------------------------

FORGED = [
    ("member_invite", "invite", {"email": "evil@example.com", "role": "admin"}),
    ("member_role", "member", {"role": "admin"}),
    ("member_role", "admin", {"role": "member"}),
    ("member_remove", "admin", {}),
    ("member_remove", "member", {}),
    ("invitation_resend", "invitation", {}),
    ("invitation_cancel", "invitation", {}),
]


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("who", ["manager_user", "member_user"])
@pytest.mark.parametrize(("name", "target", "data"), FORGED)
def test_forged_posts_from_low_roles_are_refused_and_change_nothing(
    client, everyone, invitation, who, name, target, data, htmx
):
    args = ["acme"]
    if target in {"member", "admin"}:
        args.append(_membership(everyone[f"{target}_user"]).pk)
    elif target == "invitation":
        args.append(invitation.pk)
    client.force_login(everyone[who])
    before = _state()

    response = client.post(reverse(f"accounts:{name}", args=args), data, **(HTMX if htmx else {}))

    assert response.status_code == 403
    assert _state() == before


@pytest.mark.parametrize(
    ("name", "data"),
    [("member_role", {"role": "member"}), ("member_remove", {})],
)
def test_admin_cannot_reach_a_membership_of_another_workspace(client, everyone, name, data):
    # Admin of acme, naming globex's membership through acme's URL.
    client.force_login(everyone["admin_user"])
    theirs = Membership.objects.get(user=everyone["outsider"])
    before = _state()

    response = client.post(reverse(f"accounts:{name}", args=["acme", theirs.pk]), data)

    assert response.status_code == 404
    assert _state() == before


@pytest.mark.parametrize("name", ["invitation_resend", "invitation_cancel"])
def test_admin_cannot_reach_an_invitation_of_another_workspace(client, everyone, name):
    theirs = Invitation.objects.create(
        workspace=Workspace.objects.get(slug="globex"), email="x@example.com"
    )
    client.force_login(everyone["admin_user"])
    before = _state()

    response = client.post(reverse(f"accounts:{name}", args=["acme", theirs.pk]))

    assert response.status_code == 404
    assert _state() == before


# Members list --------------------------------------------------------------------------


def test_members_page_lists_members_and_pending_invitations(client, everyone):
    client.force_login(everyone["member_user"])

    response = client.get(reverse("accounts:members", args=["acme"]))

    content = response.content.decode()
    assert "<html" in content
    for email in ["admin@example.com", "manager@example.com", "member@example.com"]:
        assert email in content
    assert "new@example.com" in content  # the pending invitation
    assert "outsider@example.com" not in content


def test_members_htmx_request_gets_only_the_list(client, everyone):
    client.force_login(everyone["member_user"])

    response = client.get(reverse("accounts:members", args=["acme"]), **HTMX)

    content = response.content.decode()
    assert "<html" not in content
    assert 'id="member-list"' in content
    assert "admin@example.com" in content


def test_members_page_shows_management_controls_to_admins_only(client, everyone):
    url = reverse("accounts:members", args=["acme"])
    invite_url = reverse("accounts:member_invite", args=["acme"])

    client.force_login(everyone["admin_user"])
    as_admin = client.get(url).content.decode()
    client.force_login(everyone["manager_user"])
    as_manager = client.get(url).content.decode()

    assert invite_url in as_admin
    assert 'name="role"' in as_admin
    assert invite_url not in as_manager
    assert 'name="role"' not in as_manager
    assert "/resend/" not in as_manager


def _add_members(workspace, count: int, prefix: str) -> None:
    """Add `count` Members to `workspace`, each with a pending invitation they sent."""
    for n in range(count):
        user = User.objects.create_user(f"{prefix}{n}@example.com", PASSWORD)
        Membership.objects.create(user=user, workspace=workspace, role=Role.MEMBER)
        Invitation.objects.create(
            workspace=workspace, email=f"{prefix}-invitee{n}@example.com", invited_by=user
        )


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_members_list_query_count_does_not_grow_with_members(
    client, workspace, admin_user, django_assert_num_queries, htmx
):
    headers = HTMX if htmx else {}
    url = reverse("accounts:members", args=["acme"])
    _add_members(workspace, 2, "few")  # 3 members with the Admin
    client.force_login(admin_user)
    client.get(url, **headers)  # warm up: the first request may set up the session
    with CaptureQueriesContext(connection) as few:
        response = client.get(url, **headers)
    assert response.content.decode().count('id="member-') == 3 + 1  # rows + member-list
    assert response.content.decode().count('id="invitation-') == 2

    _add_members(workspace, 27, "many")  # 30 members
    # Half of them with an authenticator app: the Two-factor column costs no query per row.
    TotpDevice.objects.bulk_create(
        TotpDevice(user=user, sealed_key="-")
        for user in User.objects.filter(email__startswith="many")[:15]
    )

    with django_assert_num_queries(len(few)):
        response = client.get(url, **headers)
    assert response.content.decode().count('id="member-') == 30 + 1
    assert response.content.decode().count('id="invitation-') == 29
    assert response.content.decode().count('<span class="status status-active">On</span>') == 15


# Invite ------------------------------------------------------------------------------


def test_invite_form_htmx_is_a_dialog_fragment(admin_client_acme, workspace):
    response = admin_client_acme.get(reverse("accounts:member_invite", args=["acme"]), **HTMX)

    content = response.content.decode()
    assert "<html" not in content
    assert 'name="email"' in content
    assert 'id="modal-title"' in content


def test_invite_form_without_htmx_is_a_full_page(admin_client_acme, workspace):
    response = admin_client_acme.get(reverse("accounts:member_invite", args=["acme"]))

    content = response.content.decode()
    assert "<html" in content
    assert 'name="email"' in content


def test_invite_without_htmx_redirects_with_a_message(
    admin_client_acme, workspace, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_acme.post(
            reverse("accounts:member_invite", args=["acme"]),
            {"email": "Someone@Example.com", "role": "manager"},
            follow=True,
        )

    assert response.redirect_chain == [(reverse("accounts:members", args=["acme"]), 302)]
    assert "Invitation created; emailing it to someone@example.com." in response.content.decode()
    invitation = Invitation.objects.get()
    assert (invitation.email, invitation.role) == ("someone@example.com", "manager")
    assert mail.outbox[0].to == ["someone@example.com"]


def test_invite_says_the_email_is_on_its_way_not_that_it_arrived(
    admin_client_acme, workspace, settings, django_capture_on_commit_callbacks
):
    settings.MAILERS = FAILING

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_acme.post(
            reverse("accounts:member_invite", args=["acme"]),
            {"email": "someone@example.com", "role": "member"},
            follow=True,
        )

    content = response.content.decode()
    assert "Invitation created; emailing it to someone@example.com." in content
    assert "sent to" not in content
    assert Invitation.objects.get().email == "someone@example.com"


def test_the_invite_dialog_says_how_long_the_link_works(admin_client_acme, workspace, settings):
    settings.KEYWARD_INVITATION_MAX_AGE_DAYS = 3

    response = admin_client_acme.get(reverse("accounts:member_invite", args=["acme"]))

    assert "a link that works once, for 3 days." in response.content.decode()


def test_invite_with_htmx_swaps_the_list_and_closes_the_modal(
    admin_client_acme, workspace, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_acme.post(
            reverse("accounts:member_invite", args=["acme"]),
            {"email": "someone@example.com", "role": "member"},
            **HTMX,
        )

    content = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in content
    assert 'id="member-list"' in content
    assert "someone@example.com" in content
    assert response["HX-Retarget"] == "#member-list"
    assert response["HX-Reswap"] == "outerHTML"
    triggers = _triggers(response)
    assert "modal:close" in triggers
    assert triggers["toast"]["message"] == "Invitation created; emailing it to someone@example.com."
    assert len(mail.outbox) == 1


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_invite_with_a_malformed_email_shows_the_error_and_keeps_the_input(
    admin_client_acme, workspace, htmx
):
    before = _state()

    response = admin_client_acme.post(
        reverse("accounts:member_invite", args=["acme"]),
        {"email": "not-an-email", "role": "manager"},
        **(HTMX if htmx else {}),
    )

    content = response.content.decode()
    assert response.status_code == 200
    assert "Enter a valid email address." in content
    assert 'value="not-an-email"' in content
    assert '<option value="manager" selected>' in content
    assert 'aria-invalid="true"' in content
    assert ("<html" in content) is not htmx
    assert _state() == before


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_invite_of_an_existing_member_shows_the_error_next_to_the_email(
    admin_client_acme, member_user, htmx
):
    before = _state()

    response = admin_client_acme.post(
        reverse("accounts:member_invite", args=["acme"]),
        {"email": "MEMBER@example.com", "role": "member"},
        **(HTMX if htmx else {}),
    )

    content = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_email_error"' in content
    assert "member@example.com is already a member of Acme." in content
    assert 'value="MEMBER@example.com"' in content
    assert _state() == before


def test_invite_with_an_unknown_role_is_refused(admin_client_acme, workspace):
    before = _state()

    response = admin_client_acme.post(
        reverse("accounts:member_invite", args=["acme"]),
        {"email": "someone@example.com", "role": "owner"},
    )

    assert response.status_code == 200
    assert "Select a valid choice." in response.content.decode()
    assert _state() == before


# Role change --------------------------------------------------------------------------


def test_role_change_without_htmx_redirects_with_a_message(admin_client_acme, member_user):
    membership = _membership(member_user)

    response = admin_client_acme.post(
        reverse("accounts:member_role", args=["acme", membership.pk]),
        {"role": "manager"},
        follow=True,
    )

    assert response.redirect_chain == [(reverse("accounts:members", args=["acme"]), 302)]
    assert "member@example.com is now Manager." in response.content.decode()
    assert _membership(member_user).role == Role.MANAGER
    assert AuditEvent.objects.filter(action="member.role_changed").count() == 1


def test_role_change_with_htmx_returns_the_row(admin_client_acme, member_user):
    membership = _membership(member_user)

    response = admin_client_acme.post(
        reverse("accounts:member_role", args=["acme", membership.pk]),
        {"role": "manager"},
        **HTMX,
    )

    content = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in content
    assert content.strip().startswith(f'<tr id="member-{membership.pk}">')
    assert '<option value="manager" selected>' in content
    assert _triggers(response)["toast"]["message"] == "member@example.com is now Manager."
    assert _membership(member_user).role == Role.MANAGER


def test_demoting_the_last_admin_without_htmx_shows_the_error(admin_client_acme, admin_user):
    membership = _membership(admin_user)
    before = _state()

    response = admin_client_acme.post(
        reverse("accounts:member_role", args=["acme", membership.pk]), {"role": "member"}
    )

    assert response.status_code == 200
    assert "You cannot demote the last Admin." in response.content.decode()
    assert _state() == before


def test_demoting_the_last_admin_with_htmx_returns_the_row_with_the_error(
    admin_client_acme, admin_user
):
    membership = _membership(admin_user)
    before = _state()

    response = admin_client_acme.post(
        reverse("accounts:member_role", args=["acme", membership.pk]), {"role": "member"}, **HTMX
    )

    content = response.content.decode()
    assert "<html" not in content
    assert f'id="role-error-{membership.pk}"' in content
    assert "You cannot demote the last Admin." in content
    # The select shows the role the member still has, not the refused one.
    assert '<option value="admin" selected>' in content
    toast = _triggers(response)["toast"]
    assert toast["level"] == "error"
    assert "last Admin" in toast["message"]
    assert _state() == before


def test_role_change_with_an_unknown_role_changes_nothing(admin_client_acme, member_user):
    membership = _membership(member_user)
    before = _state()

    response = admin_client_acme.post(
        reverse("accounts:member_role", args=["acme", membership.pk]), {"role": "owner"}, **HTMX
    )

    assert response.status_code == 200
    assert _triggers(response)["toast"]["level"] == "error"
    assert _state() == before


# Remove ------------------------------------------------------------------------------


def test_remove_confirmation_names_the_member(admin_client_acme, member_user):
    membership = _membership(member_user)

    response = admin_client_acme.get(
        reverse("accounts:member_remove", args=["acme", membership.pk]), **HTMX
    )

    content = response.content.decode()
    assert "<html" not in content
    assert "Remove <strong>member@example.com</strong>" in content
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_remove_without_htmx_redirects_with_a_message(admin_client_acme, member_user):
    membership = _membership(member_user)

    response = admin_client_acme.post(
        reverse("accounts:member_remove", args=["acme", membership.pk]), follow=True
    )

    assert response.redirect_chain == [(reverse("accounts:members", args=["acme"]), 302)]
    assert "member@example.com was removed from Acme." in response.content.decode()
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_remove_with_htmx_swaps_the_list(admin_client_acme, member_user):
    membership = _membership(member_user)

    response = admin_client_acme.post(
        reverse("accounts:member_remove", args=["acme", membership.pk]), **HTMX
    )

    content = response.content.decode()
    assert "<html" not in content
    assert 'id="member-list"' in content
    assert "member@example.com" not in content
    assert response["HX-Retarget"] == "#member-list"
    assert "modal:close" in _triggers(response)


def test_an_admin_who_leaves_is_sent_home_not_to_a_404(admin_client_acme, admin_user, workspace):
    make_member(workspace, "second@example.com", Role.ADMIN)
    membership = _membership(admin_user)

    response = admin_client_acme.post(
        reverse("accounts:member_remove", args=["acme", membership.pk]), follow=True
    )

    assert response.status_code == 200
    assert response.redirect_chain[0] == (reverse("accounts:home"), 302)
    assert "You left Acme." in response.content.decode()
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_an_admin_who_leaves_with_htmx_is_sent_home(admin_client_acme, admin_user, workspace):
    make_member(workspace, "second@example.com", Role.ADMIN)
    membership = _membership(admin_user)

    response = admin_client_acme.post(
        reverse("accounts:member_remove", args=["acme", membership.pk]), **HTMX
    )

    assert response["HX-Redirect"] == reverse("accounts:home")
    assert not Membership.objects.filter(pk=membership.pk).exists()


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_removing_the_last_admin_shows_the_error(admin_client_acme, admin_user, htmx):
    membership = _membership(admin_user)
    before = _state()

    response = admin_client_acme.post(
        reverse("accounts:member_remove", args=["acme", membership.pk]),
        **(HTMX if htmx else {}),
    )

    content = response.content.decode()
    assert response.status_code == 200
    assert "You cannot remove the last Admin." in content
    assert ("<html" in content) is not htmx
    assert _state() == before


# Resend and cancel -------------------------------------------------------------------


def test_resend_without_htmx_redirects_with_a_message(
    admin_client_acme, invitation, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_acme.post(
            reverse("accounts:invitation_resend", args=["acme", invitation.pk]), follow=True
        )

    assert "Invitation renewed; emailing it to new@example.com." in response.content.decode()
    assert len(mail.outbox) == 2
    assert Invitation.objects.get().key != invitation.key


def test_cancel_with_htmx_swaps_the_list(admin_client_acme, invitation):
    response = admin_client_acme.post(
        reverse("accounts:invitation_cancel", args=["acme", invitation.pk]), **HTMX
    )

    content = response.content.decode()
    assert "<html" not in content
    assert "new@example.com" not in content
    assert _triggers(response)["toast"]["message"] == "Invitation to new@example.com cancelled."
    assert not Invitation.objects.pending().exists()


@pytest.mark.parametrize("name", ["invitation_resend", "invitation_cancel"])
def test_closed_invitations_cannot_be_resent_or_cancelled(admin_client_acme, invitation, name):
    admin_client_acme.post(reverse("accounts:invitation_cancel", args=["acme", invitation.pk]))
    before = _state()

    response = admin_client_acme.post(reverse(f"accounts:{name}", args=["acme", invitation.pk]))

    assert response.status_code == 404
    assert _state() == before


# Home, workspaces and sign-up -----------------------------------------------------------


def test_home_sends_anonymous_visitors_to_sign_in(client):
    response = client.get(reverse("accounts:home"))

    assert response["Location"] == reverse("accounts:login")


def test_home_sends_a_user_without_workspace_to_create_one(client, db):
    client.force_login(User.objects.create_user("lonely@example.com", PASSWORD))

    response = client.get(reverse("accounts:home"))

    assert response["Location"] == reverse("accounts:workspace_create")


def test_home_returns_to_the_workspace_used_last(client, admin_user, other_workspace):
    Membership.objects.create(user=admin_user, workspace=other_workspace, role=Role.MEMBER)
    client.force_login(admin_user)
    # Alphabetically Acme comes first; visiting Globex makes it the last used.
    assert client.get(reverse("accounts:home"))["Location"] == "/w/acme/"
    client.get("/w/globex/")

    assert client.get(reverse("accounts:home"))["Location"] == "/w/globex/"


def test_workspace_create_makes_the_user_its_admin(client, member_user):
    client.force_login(member_user)

    response = client.post(reverse("accounts:workspace_create"), {"name": "Side project"})

    workspace = Workspace.objects.get(name="Side project")
    assert response["Location"] == workspace.get_absolute_url()
    assert Membership.objects.get(user=member_user, workspace=workspace).role == Role.ADMIN


def test_workspace_create_needs_sign_in(client, db):
    response = client.post(reverse("accounts:workspace_create"), {"name": "Nope"})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert not Workspace.objects.exists()


def _signup_data(**overrides) -> dict:
    return {
        "full_name": "Ada Lovelace",
        "email": "Ada@Example.com",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "workspace_name": "Analytical Engines",
    } | overrides


def test_signup_page_renders(client, db):
    response = client.get(reverse("accounts:signup"))

    assert response.status_code == 200
    assert 'name="workspace_name"' in response.content.decode()


def test_signup_creates_the_account_and_workspace_and_signs_in(client, db):
    response = client.post(reverse("accounts:signup"), _signup_data())

    user = User.objects.get()
    workspace = Workspace.objects.get()
    assert user.email == "ada@example.com"
    assert response["Location"] == workspace.get_absolute_url()
    assert client.session[SESSION_KEY] == str(user.pk)
    assert Membership.objects.get(user=user).role == Role.ADMIN
    assert client.get(workspace.get_absolute_url()).status_code == 200


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"password2": "something-else-entirely"}, "The two passwords do not match."),
        ({"password1": "123", "password2": "123"}, "This password is too short."),
        ({"email": "nope"}, "Enter a valid email address."),
        ({"workspace_name": ""}, "This field is required."),
    ],
)
def test_signup_with_bad_input_shows_errors_and_creates_nothing(client, db, overrides, error):
    response = client.post(reverse("accounts:signup"), _signup_data(**overrides))

    assert response.status_code == 200
    assert error in response.content.decode()
    assert not User.objects.exists()
    assert SESSION_KEY not in client.session


def test_signup_with_a_taken_email_says_so(client, admin_user):
    response = client.post(reverse("accounts:signup"), _signup_data(email="ADMIN@example.com"))

    assert "An account with this email already exists." in response.content.decode()
    assert User.objects.count() == 1
    assert not Workspace.objects.exclude(slug="acme").exists()


def test_signup_sends_signed_in_users_home(client, admin_user):
    client.force_login(admin_user)

    response = client.get(reverse("accounts:signup"))

    assert response["Location"] == reverse("accounts:home")


# Sign-in and its failure limit ------------------------------------------------------------


def _login(client, email, password, ip="10.0.0.1"):
    return client.post(
        reverse("accounts:login"), {"username": email, "password": password}, REMOTE_ADDR=ip
    )


def _signed_in(client) -> bool:
    return SESSION_KEY in client.session


def test_login_with_the_right_password_signs_in(client, admin_user):
    response = _login(client, "Admin@Example.com", PASSWORD)

    assert response.status_code == 302
    assert _signed_in(client)


def test_login_with_a_wrong_password_says_so(client, admin_user):
    response = _login(client, "admin@example.com", "wrong")

    assert "That email and password do not match an account." in response.content.decode()
    assert not _signed_in(client)


def test_login_is_refused_after_too_many_failures_even_with_the_right_password(
    client, admin_user, settings
):
    for _ in range(settings.KEYWARD_LOGIN_FAILURES_PER_ACCOUNT):
        assert "do not match" in _login(client, "admin@example.com", "wrong").content.decode()

    response = _login(client, "admin@example.com", PASSWORD)

    content = response.content.decode()
    assert response.status_code == 200
    minutes = settings.KEYWARD_LOGIN_FAILURE_WINDOW_SECONDS // 60
    assert f"Too many failed sign-in attempts. Try again in {minutes} minute(s)" in content
    assert not _signed_in(client)


def test_failures_count_per_account_whatever_the_case_or_address(client, admin_user, settings):
    for n in range(settings.KEYWARD_LOGIN_FAILURES_PER_ACCOUNT):
        email = "ADMIN@example.com" if n % 2 else "admin@example.com"
        _login(client, email, "wrong", ip=f"10.0.0.{n + 1}")

    response = _login(client, "admin@example.com", PASSWORD, ip="10.9.9.9")

    assert "Too many failed sign-in attempts" in response.content.decode()
    assert not _signed_in(client)


def test_the_owner_can_sign_in_again_after_the_window(client, admin_user, settings, monkeypatch):
    for _ in range(settings.KEYWARD_LOGIN_FAILURES_PER_ACCOUNT):
        _login(client, "admin@example.com", "wrong")
    assert (
        not _signed_in(client)
        and "Too many" in _login(client, "admin@example.com", PASSWORD).content.decode()
    )
    later = time.time() + settings.KEYWARD_LOGIN_FAILURE_WINDOW_SECONDS + 1
    monkeypatch.setattr("accounts.ratelimit.time.time", lambda: later)

    response = _login(client, "admin@example.com", PASSWORD)

    assert response.status_code == 302
    assert _signed_in(client)


def test_the_lock_does_not_lift_before_the_window_ends(client, admin_user, settings, monkeypatch):
    for _ in range(settings.KEYWARD_LOGIN_FAILURES_PER_ACCOUNT):
        _login(client, "admin@example.com", "wrong")
    later = time.time() + settings.KEYWARD_LOGIN_FAILURE_WINDOW_SECONDS - 60
    monkeypatch.setattr("accounts.ratelimit.time.time", lambda: later)

    response = _login(client, "admin@example.com", PASSWORD)

    assert "Try again in 1 minute(s)" in response.content.decode()
    assert not _signed_in(client)


def test_a_successful_sign_in_clears_the_account_failures(client, admin_user, settings):
    limit = settings.KEYWARD_LOGIN_FAILURES_PER_ACCOUNT
    for _ in range(limit - 1):
        _login(client, "admin@example.com", "wrong")
    assert _login(client, "admin@example.com", PASSWORD).status_code == 302
    client.logout()
    for _ in range(limit - 1):
        _login(client, "admin@example.com", "wrong")

    assert _login(client, "admin@example.com", PASSWORD).status_code == 302


def test_failures_are_limited_per_client_address(client, everyone, settings):
    settings.KEYWARD_LOGIN_FAILURES_PER_IP = 3
    for email in ["admin@example.com", "manager@example.com", "nobody@example.com"]:
        _login(client, email, "wrong", ip="10.6.6.6")

    from_there = _login(client, "member@example.com", PASSWORD, ip="10.6.6.6")
    assert "Too many failed sign-in attempts" in from_there.content.decode()
    assert not _signed_in(client)
    from_elsewhere = _login(client, "member@example.com", PASSWORD, ip="10.0.0.2")
    assert from_elsewhere.status_code == 302


def test_a_forged_forwarded_for_header_does_not_evade_the_address_limit(client, everyone, settings):
    # Without KEYWARD_TRUST_X_FORWARDED_FOR the header is the client's claim, not its address.
    settings.KEYWARD_LOGIN_FAILURES_PER_IP = 3
    for n, email in enumerate(["admin@example.com", "manager@example.com", "x@example.com"]):
        client.post(
            reverse("accounts:login"),
            {"username": email, "password": "wrong"},
            REMOTE_ADDR="10.6.6.6",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}",
        )

    response = client.post(
        reverse("accounts:login"),
        {"username": "member@example.com", "password": PASSWORD},
        REMOTE_ADDR="10.6.6.6",
        HTTP_X_FORWARDED_FOR="192.0.2.99",
    )

    assert "Too many failed sign-in attempts" in response.content.decode()


def _admin_login(client, email, password, ip="10.0.0.1"):
    return client.post(
        reverse("admin:login"), {"username": email, "password": password}, REMOTE_ADDR=ip
    )


def test_admin_sign_in_is_refused_after_six_wrong_passwords_even_with_the_right_one(
    client, operator
):
    for _ in range(6):
        assert _admin_login(client, "operator@example.com", "wrong").status_code == 200

    response = _admin_login(client, "operator@example.com", PASSWORD)

    assert response.status_code == 200
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert not _signed_in(client)


def test_console_and_admin_failures_share_one_count(client, operator, settings):
    limit = settings.KEYWARD_LOGIN_FAILURES_PER_ACCOUNT
    for n in range(limit):
        sign_in = _login if n % 2 else _admin_login
        sign_in(client, "operator@example.com", "wrong", ip=f"10.0.0.{n + 1}")

    at_admin = _admin_login(client, "operator@example.com", PASSWORD, ip="10.9.9.9")
    at_console = _login(client, "operator@example.com", PASSWORD, ip="10.9.9.9")

    assert "Too many failed sign-in attempts" in at_admin.content.decode()
    assert "Too many failed sign-in attempts" in at_console.content.decode()
    assert not _signed_in(client)


def test_every_caller_of_authenticate_is_limited(rf, admin_user, settings):
    # A later way to sign in (passkeys, SSO) goes through authenticate too.
    request = rf.post("/", REMOTE_ADDR="10.0.0.1")
    for _ in range(settings.KEYWARD_LOGIN_FAILURES_PER_ACCOUNT):
        assert authenticate(request, username="admin@example.com", password="wrong") is None

    assert authenticate(request, username="admin@example.com", password=PASSWORD) is None
    assert authenticate(request, email="admin@example.com", password=PASSWORD) is None
    assert "Too many" in _login(Client(), "admin@example.com", PASSWORD).content.decode()


def test_a_successful_admin_sign_in_clears_the_account_failures(client, operator, settings):
    for _ in range(settings.KEYWARD_LOGIN_FAILURES_PER_ACCOUNT - 1):
        _login(client, "operator@example.com", "wrong")
    assert _admin_login(client, "operator@example.com", PASSWORD).status_code == 302
    client.logout()

    assert _login(client, "operator@example.com", "wrong").status_code == 200
    assert _login(client, "operator@example.com", PASSWORD).status_code == 302


def test_login_does_not_redirect_to_another_site(client, admin_user):
    response = client.post(
        reverse("accounts:login"),
        {"username": "admin@example.com", "password": PASSWORD, "next": "https://evil.example/"},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:home")


def test_login_follows_a_local_next(client, admin_user):
    response = client.post(
        reverse("accounts:login"),
        {"username": "admin@example.com", "password": PASSWORD, "next": "/w/acme/settings/"},
    )

    assert response["Location"] == "/w/acme/settings/"


# Password reset -----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # the email is a task run after commit
def test_password_reset_emails_a_working_link(client, admin_user):
    response = client.post(reverse("accounts:password_reset"), {"email": "Admin@Example.com"})

    assert response["Location"] == reverse("accounts:password_reset_done")
    [message] = mail.outbox
    assert message.to == ["admin@example.com"]
    link = re.search(r"https?://\S+/accounts/password/reset/\S+/", message.body).group(0)
    form_page = client.get(urlsplit(link).path, follow=True)
    assert form_page.status_code == 200
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-brand-new-passphrase", "new_password2": "a-brand-new-passphrase"},
    )
    assert done["Location"] == reverse("accounts:password_reset_complete")
    admin_user.refresh_from_db()
    assert admin_user.check_password("a-brand-new-passphrase")


@pytest.mark.django_db(transaction=True)  # the email is a task run after commit
def test_password_reset_does_not_reveal_whether_an_account_exists(client, db):
    response = client.post(reverse("accounts:password_reset"), {"email": "nobody@example.com"})

    assert response["Location"] == reverse("accounts:password_reset_done")
    assert mail.outbox == []


# Email and sign-up limits -------------------------------------------------------------


def _reset(client, email, ip="10.0.0.1"):
    return client.post(reverse("accounts:password_reset"), {"email": email}, REMOTE_ADDR=ip)


@pytest.mark.django_db(transaction=True)  # the email is a task run after commit
@pytest.mark.parametrize("email", ["admin@example.com", "nobody@example.com"])
def test_password_reset_stops_emailing_an_address_past_its_limit(
    client, admin_user, settings, email
):
    settings.KEYWARD_EMAILS_PER_ADDRESS = 2
    for n in range(2):
        assert _reset(client, email.upper(), ip=f"10.0.0.{n + 1}").status_code == 302
    sent = len(mail.outbox)

    response = _reset(client, email, ip="10.0.0.9")

    # The same page whether the address has an account or not: nothing is revealed.
    assert response.status_code == 200
    assert "Too many reset emails for this address or from yours." in (response.content.decode())
    assert len(mail.outbox) == sent


@pytest.mark.django_db(transaction=True)  # the email is a task run after commit
def test_password_reset_stops_emailing_from_an_address_past_its_limit(
    client, admin_user, manager_user, member_user, settings
):
    settings.KEYWARD_EMAILS_PER_IP = 2
    _reset(client, "admin@example.com", ip="10.6.6.6")
    _reset(client, "manager@example.com", ip="10.6.6.6")

    from_there = _reset(client, "member@example.com", ip="10.6.6.6")
    assert "Too many reset emails" in from_there.content.decode()
    assert len(mail.outbox) == 2
    assert _reset(client, "member@example.com", ip="10.0.0.2").status_code == 302
    assert len(mail.outbox) == 3


def test_signups_are_limited_per_client_address(client, db, settings):
    settings.KEYWARD_SIGNUPS_PER_IP = 2
    for n in range(2):
        data = _signup_data(email=f"ada{n}@example.com", workspace_name=f"Engines {n}")
        client.post(reverse("accounts:signup"), data, REMOTE_ADDR="10.6.6.6")
        client.logout()

    response = client.post(reverse("accounts:signup"), _signup_data(), REMOTE_ADDR="10.6.6.6")

    assert "Too many sign-ups from your address." in response.content.decode()
    assert User.objects.count() == 2
    assert SESSION_KEY not in client.session
    elsewhere = client.post(reverse("accounts:signup"), _signup_data(), REMOTE_ADDR="10.0.0.2")
    assert elsewhere.status_code == 302


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_invitation_resends_stop_past_the_address_limit(
    admin_client_acme, invitation, settings, htmx, django_capture_on_commit_callbacks
):
    settings.KEYWARD_EMAILS_PER_ADDRESS = 2  # the invitation itself was the first email
    url = reverse("accounts:invitation_resend", args=["acme", invitation.pk])
    with django_capture_on_commit_callbacks(execute=True):
        admin_client_acme.post(url)
    before = _state()

    response = admin_client_acme.post(url, **(HTMX if htmx else {}), follow=not htmx)

    message = "Too many emails to new@example.com or from your address."
    if htmx:
        assert response.status_code == 204
        assert _triggers(response)["toast"]["level"] == "error"
        assert message in _triggers(response)["toast"]["message"]
    else:
        assert message in response.content.decode()
    assert _state() == before  # the link in the emails already sent still works
    assert len(mail.outbox) == 2


def test_invitations_are_limited_per_address_across_workspaces(
    admin_client_acme, admin_user, invitation, settings
):
    settings.KEYWARD_EMAILS_PER_ADDRESS = 1
    other = services.workspace_create(name="Globex", creator=admin_user)

    response = admin_client_acme.post(
        reverse("accounts:member_invite", args=[other.slug]),
        {"email": "new@example.com", "role": "member"},
    )

    assert "Too many emails to new@example.com or from your address." in response.content.decode()
    assert not Invitation.objects.filter(workspace=other).exists()
    assert len(mail.outbox) == 1


def test_an_invitation_waits_while_redis_is_down(redis_cache, admin_client_acme, workspace):
    redis_cache.stop()

    response = admin_client_acme.post(
        reverse("accounts:member_invite", args=[workspace.slug]),
        {"email": "new@example.com", "role": "member"},
    )

    assert response.status_code == 200
    assert "Emails cannot be sent for a moment. Try again shortly." in response.content.decode()
    assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_invitations_are_limited_per_client_address(
    admin_client_acme, workspace, settings, django_capture_on_commit_callbacks
):
    settings.KEYWARD_EMAILS_PER_IP = 2
    url = reverse("accounts:member_invite", args=["acme"])
    for n in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client_acme.post(url, {"email": f"p{n}@example.com", "role": "member"})

    assert "Too many emails to p2@example.com or from your address." in response.content.decode()
    assert Invitation.objects.count() == 2
    assert len(mail.outbox) == 2


def test_password_change_needs_sign_in(client, db):
    response = client.get(reverse("accounts:password_change"))

    assert response["Location"].startswith(reverse("accounts:login"))


NEW_PASSWORD = "another-horse-battery-staple"


@pytest.mark.parametrize("url", ["accounts:password_change", "admin:password_change"])
def test_a_password_change_cannot_guess_the_old_password_past_the_limit(
    client, operator, settings, url
):
    client.force_login(operator)
    for _ in range(settings.KEYWARD_LOGIN_FAILURES_PER_ACCOUNT):
        client.post(
            reverse(url),
            {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        )

    response = client.post(
        reverse(url),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 200
    assert "Too many wrong passwords" in response.content.decode()
    operator.refresh_from_db()
    assert operator.check_password(PASSWORD)
    assert "Too many" in _login(Client(), "operator@example.com", PASSWORD).content.decode()


def test_a_password_change_with_the_right_old_password_works(client, admin_user):
    client.force_login(admin_user)

    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response["Location"] == reverse("accounts:password_change_done")
    admin_user.refresh_from_db()
    assert admin_user.check_password(NEW_PASSWORD)


# Audit context ------------------------------------------------------------------------------


def test_console_actions_record_the_client_address_and_agent(admin_client_acme, member_user):
    admin_client_acme.post(
        reverse("accounts:member_role", args=["acme", _membership(member_user).pk]),
        {"role": "manager"},
        REMOTE_ADDR="203.0.113.7",
        HTTP_USER_AGENT="pytest-agent/1.0",
    )

    event = AuditEvent.objects.get(action="member.role_changed")
    assert event.ip == "203.0.113.7"
    assert event.user_agent == "pytest-agent/1.0"


# Accepting invitations ------------------------------------------------------------------


def _accept_url(invitation) -> str:
    return reverse("accounts:invitation_accept", args=[invitation_link_token(invitation)])


def test_invitation_link_for_a_new_person_offers_sign_up(client, invitation):
    response = client.get(_accept_url(invitation))

    content = response.content.decode()
    assert response.status_code == 200
    assert "Join Acme" in content
    assert 'value="new@example.com" readonly' in content
    assert 'name="password1"' in content


def test_new_person_signs_up_and_joins_through_the_link(client, invitation):
    response = client.post(
        _accept_url(invitation),
        {"full_name": "Newt", "password1": PASSWORD, "password2": PASSWORD},
    )

    user = User.objects.get(email="new@example.com")
    assert response["Location"] == "/w/acme/"
    assert _signed_in(client)
    assert user.full_name == "Newt"
    assert _membership(user).role == Role.MEMBER
    invitation.refresh_from_db()
    assert invitation.accepted_by == user
    # The link is single-use.
    assert client.get(_accept_url(invitation)).status_code == 400


def test_sign_up_through_the_link_with_bad_passwords_creates_nothing(client, invitation):
    response = client.post(
        _accept_url(invitation), {"password1": PASSWORD, "password2": "something-else"}
    )

    assert response.status_code == 200
    assert "The two passwords do not match." in response.content.decode()
    assert not User.objects.filter(email="new@example.com").exists()
    invitation.refresh_from_db()
    assert invitation.is_pending


def test_existing_account_must_sign_in_to_accept(client, invitation):
    User.objects.create_user("new@example.com", PASSWORD)
    url = _accept_url(invitation)

    shown = client.get(url)
    posted = client.post(url, {"password1": "x", "password2": "x"})

    assert f"{reverse('accounts:login')}?next={quote(url)}" in shown.content.decode()
    assert "Sign in to accept" in posted.content.decode()
    invitation.refresh_from_db()
    assert invitation.is_pending
    assert not Membership.objects.filter(user__email="new@example.com").exists()


def test_signed_in_invitee_joins_with_one_click(client, invitation):
    user = User.objects.create_user("new@example.com", PASSWORD)
    client.force_login(user)
    url = _accept_url(invitation)

    shown = client.get(url)
    response = client.post(url)

    assert "Join Acme</button>" in shown.content.decode()
    assert response["Location"] == "/w/acme/"
    assert _membership(user).role == Role.MEMBER
    assert client.get("/w/acme/").status_code == 200


def test_signed_in_as_someone_else_cannot_accept(client, invitation, manager_user):
    client.force_login(manager_user)
    url = _accept_url(invitation)
    before = _state()

    shown = client.get(url)
    posted = client.post(url)

    for response in (shown, posted):
        assert response.status_code == 400
        content = response.content.decode()
        assert "This invitation is for new@example.com" in content
        assert "signed in as manager@example.com" in content
    assert _state() == before


def test_garbage_invitation_link_explains_itself(client, db):
    response = client.get(reverse("accounts:invitation_accept", args=["garbage"]))

    assert response.status_code == 400
    assert "This invitation link is not valid." in response.content.decode()


def test_cancelled_invitation_link_explains_itself(client, invitation, admin_user):
    url = _accept_url(invitation)
    client.force_login(admin_user)
    client.post(reverse("accounts:invitation_cancel", args=["acme", invitation.pk]))
    client.logout()

    response = client.get(url)

    assert response.status_code == 400
    assert "This invitation was cancelled." in response.content.decode()
