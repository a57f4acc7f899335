"""The workspace policy "Require two-factor authentication": who may set it, whom it covers,
where a member who lacks it is sent, and what stays open to them."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import services
from accounts.models import AuditEvent, Membership, TwoFactorPolicy, Workspace
from accounts.roles import Role
from accounts.signin import factors
from tests.accounts.otp import enrol_totp
from tests.conftest import PASSWORD
from tests.factories import HTMX, issue, signed_in
from tokens.models import Token

pytestmark = pytest.mark.django_db

ADMINS_AND_MANAGERS = TwoFactorPolicy.ADMINS_AND_MANAGERS
EVERYONE = TwoFactorPolicy.EVERYONE


def require(workspace: Workspace, policy: str) -> None:
    Workspace.objects.filter(pk=workspace.pk).update(two_factor_policy=policy)


def required_url(slug: str = "acme") -> str:
    return reverse("accounts:two_factor_required", kwargs={"slug": slug})


def overview_url(slug: str = "acme") -> str:
    return reverse("accounts:workspace_overview", kwargs={"slug": slug})


def events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="policy.two_factor_updated"))


# Whom each policy covers -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "covered"),
    [
        (TwoFactorPolicy.OFF, set()),
        (ADMINS_AND_MANAGERS, {Role.ADMIN, Role.MANAGER}),
        (EVERYONE, {Role.ADMIN, Role.MANAGER, Role.MEMBER}),
    ],
)
def test_each_policy_covers_its_roles(policy, covered):
    assert {role for role in Role if policy.covers(role)} == covered


# The service ---------------------------------------------------------------------------------


def test_an_admin_with_two_factor_turns_it_on_and_it_is_audited(workspace, admin_user):
    enrol_totp(admin_user)
    changed = services.workspace_two_factor_policy_update(
        workspace=workspace, policy="everyone", actor=admin_user
    )
    workspace.refresh_from_db()
    assert changed and workspace.two_factor_policy == EVERYONE
    [event] = events()
    assert event.workspace == workspace and event.actor_user == admin_user
    assert event.details == {"from": "off", "to": "everyone"}


def test_the_same_policy_again_changes_and_audits_nothing(workspace, admin_user):
    enrol_totp(admin_user)
    require(workspace, EVERYONE)
    assert not services.workspace_two_factor_policy_update(
        workspace=workspace, policy="everyone", actor=admin_user
    )
    assert events() == []


@pytest.mark.parametrize("policy", ["admins_and_managers", "everyone"])
def test_an_admin_without_two_factor_cannot_require_it(workspace, admin_user, policy):
    with pytest.raises(ValidationError) as refused:
        services.workspace_two_factor_policy_update(
            workspace=workspace, policy=policy, actor=admin_user
        )
    assert refused.value.error_dict["two_factor_policy"][0].code == "two_factor_missing"
    workspace.refresh_from_db()
    assert workspace.two_factor_policy == TwoFactorPolicy.OFF and events() == []


def test_recovery_codes_left_after_removing_the_app_are_not_two_factor(workspace, admin_user):
    # has_two_factor is the one judge: the service asks it, not the tables.
    enrol_totp(admin_user)
    factors.totp_remove(user=admin_user)
    with pytest.raises(ValidationError):
        services.workspace_two_factor_policy_update(
            workspace=workspace, policy="everyone", actor=admin_user
        )


def test_an_admin_without_two_factor_may_still_turn_it_off(workspace, admin_user):
    require(workspace, ADMINS_AND_MANAGERS)
    assert services.workspace_two_factor_policy_update(
        workspace=workspace, policy="off", actor=admin_user
    )


@pytest.mark.parametrize("who", ["manager_user", "member_user", "outsider"])
def test_only_an_admin_changes_it(request, workspace, who):
    user = request.getfixturevalue(who)
    enrol_totp(user)
    with pytest.raises(PermissionDenied):
        services.workspace_two_factor_policy_update(
            workspace=workspace, policy="everyone", actor=user
        )
    workspace.refresh_from_db()
    assert workspace.two_factor_policy == TwoFactorPolicy.OFF


def test_an_unknown_policy_is_a_field_error(workspace, admin_user):
    with pytest.raises(ValidationError) as refused:
        services.workspace_two_factor_policy_update(
            workspace=workspace, policy="sometimes", actor=admin_user
        )
    assert refused.value.error_dict["two_factor_policy"][0].code == "invalid_two_factor_policy"


# Enforcement -----------------------------------------------------------------------------


def test_a_manager_without_two_factor_is_sent_to_set_it_up(workspace, manager_user):
    require(workspace, ADMINS_AND_MANAGERS)
    client = signed_in(manager_user)
    response = client.get(overview_url())
    assert response.status_code == 303 and response["Location"] == required_url()
    page = client.get(required_url())
    assert page.status_code == 200
    text = page.content.decode()
    assert "Acme requires it" in text and "its Admins and Managers" in text
    assert reverse("accounts:security") in text


def test_an_htmx_request_gets_hx_redirect_not_a_fragment(workspace, manager_user):
    require(workspace, ADMINS_AND_MANAGERS)
    response = signed_in(manager_user).get(reverse("tokens:list", args=["acme"]), **HTMX)
    assert response.status_code == 200 and response["HX-Redirect"] == required_url()
    assert response.content == b""


def test_a_refused_post_changes_nothing(workspace, manager_user):
    require(workspace, ADMINS_AND_MANAGERS)
    url = reverse("tokens:create", args=["acme"])
    data = {"name": "made", "kind": "workspace", "preset": "read", "expiration": "30"}
    response = signed_in(manager_user).post(url, data)
    assert response.status_code == 303 and response["Location"] == required_url()
    assert not Token.objects.exists()


def test_a_member_is_not_covered_by_admins_and_managers(workspace, member_user):
    require(workspace, ADMINS_AND_MANAGERS)
    assert signed_in(member_user).get(overview_url()).status_code == 200


def test_a_member_is_covered_by_everyone(workspace, member_user):
    require(workspace, EVERYONE)
    response = signed_in(member_user).get(overview_url())
    assert response.status_code == 303 and response["Location"] == required_url()
    assert "for everyone" in signed_in(member_user).get(required_url()).content.decode()


def test_set_up_two_factor_opens_the_workspace_again(workspace, manager_user):
    require(workspace, EVERYONE)
    client = signed_in(manager_user)
    assert client.get(overview_url()).status_code == 303
    enrol_totp(manager_user)
    assert client.get(overview_url()).status_code == 200
    # The page has nothing left to say: on to the workspace.
    response = client.get(required_url())
    assert response.status_code == 303 and response["Location"] == overview_url()


def test_security_sign_out_and_other_workspaces_stay_open(workspace, other_workspace, manager_user):
    require(workspace, EVERYONE)
    Membership.objects.create(user=manager_user, workspace=other_workspace, role=Role.MEMBER)
    client = signed_in(manager_user)
    assert client.get(reverse("accounts:security")).status_code == 200
    assert client.get(reverse("accounts:security_totp_setup")).status_code == 200
    assert client.get(overview_url(other_workspace.slug)).status_code == 200
    page = client.get(required_url()).content.decode()
    assert overview_url(other_workspace.slug) in page  # the way to the others
    assert client.post(reverse("accounts:logout")).status_code == 302
    assert client.get(reverse("accounts:security")).status_code == 302  # signed out


def test_a_non_member_still_gets_404_and_learns_nothing(workspace, outsider):
    require(workspace, EVERYONE)
    client = signed_in(outsider)
    assert client.get(overview_url()).status_code == 404
    # The page sends a stranger to the workspace, which answers 404 as for any slug.
    assert client.get(required_url())["Location"] == overview_url()
    assert client.get(required_url("no-such"))["Location"] == overview_url("no-such")


def test_api_tokens_keep_working_for_a_member_without_two_factor(workspace, manager_user):
    require(workspace, EVERYONE)
    _, secret = issue(manager_user, workspace, "ci", scopes=("tokens:read",))
    response = signed_in(manager_user).get("/api/v1/tokens", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 200


def test_the_check_costs_no_query_when_the_policy_does_not_cover_the_role(
    workspace, member_user, django_assert_num_queries
):
    client = signed_in(member_user)
    url = reverse("tokens:list", args=["acme"])
    client.get(url)
    with CaptureQueriesContext(connection) as off:
        client.get(url)
    require(workspace, ADMINS_AND_MANAGERS)
    with django_assert_num_queries(len(off)):
        assert client.get(url).status_code == 200


# Settings → Policies: the section ------------------------------------------------------------


def policies_url(slug: str = "acme") -> str:
    return reverse("tokens:policies", kwargs={"slug": slug})


def section_post(client, policy: str):
    data = {"section": "two_factor", "two_factor_policy": policy, "password": PASSWORD}
    return client.post(policies_url(), data)


@pytest.mark.parametrize("who", ["admin_user", "manager_user", "member_user"])
def test_every_member_reads_the_section_and_only_admins_may_change_it(request, workspace, who):
    enrol_totp(request.getfixturevalue(who))
    require(workspace, EVERYONE)
    response = signed_in(request.getfixturevalue(who)).get(policies_url())
    text = response.content.decode()
    assert response.status_code == 200 and "Two-factor authentication" in text
    inputs = re.findall(r'<input type="radio" name="two_factor_policy"[^>]*>', text)
    assert len(inputs) == 3
    [checked] = [tag for tag in inputs if "checked" in tag]
    assert 'value="everyone"' in checked
    assert all(("disabled" in tag) == (who != "admin_user") for tag in inputs)
    assert ("Save two-factor policy" in text) == (who == "admin_user")


def test_an_admin_saves_the_section(workspace, admin_user):
    enrol_totp(admin_user)
    client = signed_in(admin_user)
    response = section_post(client, "admins_and_managers")
    assert response.status_code == 302 and response["Location"] == policies_url()
    workspace.refresh_from_db()
    assert workspace.two_factor_policy == ADMINS_AND_MANAGERS and len(events()) == 1
    assert "Two-factor policy saved." in client.get(policies_url()).content.decode()


def test_an_admin_without_two_factor_sees_why_next_to_the_field(
    workspace, admin_user, manager_user
):
    client = signed_in(admin_user)
    response = section_post(client, "everyone")
    text = response.content.decode()
    assert response.status_code == 200
    error = re.search(r'<div class="errors" id="two-factor-policy-error".*?</div>', text, re.S)
    assert error and "Set up two-factor authentication for yourself first" in error[0]
    assert reverse("accounts:security") in error[0]
    workspace.refresh_from_db()
    assert workspace.two_factor_policy == TwoFactorPolicy.OFF and events() == []
    # The token policies' form was not the one posted: it shows no error.
    assert text.count('class="errors"') == 1


@pytest.mark.parametrize("who", ["manager_user", "member_user"])
def test_a_non_admin_posting_the_section_gets_403(request, workspace, who):
    user = request.getfixturevalue(who)
    enrol_totp(user)
    assert section_post(signed_in(user), "everyone").status_code == 403
    workspace.refresh_from_db()
    assert workspace.two_factor_policy == TwoFactorPolicy.OFF and events() == []


def test_the_section_says_how_many_each_choice_would_stop(
    workspace, admin_user, manager_user, member_user
):
    enrol_totp(admin_user)
    text = signed_in(admin_user).get(policies_url()).content.decode()
    # Admins and Managers: the Manager lacks it; everyone: the Manager and the Member.
    assert "1 of them has not set it up yet." in text
    assert "2 of them have not set it up yet." in text


# Settings → Members: who has two-factor ------------------------------------------------------


def test_the_members_tab_shows_who_has_two_factor_and_who_needs_it(
    workspace, admin_user, manager_user, member_user
):
    enrol_totp(admin_user)
    require(workspace, EVERYONE)
    enrol_totp(member_user)
    Workspace.objects.filter(pk=workspace.pk).update(two_factor_policy=ADMINS_AND_MANAGERS)
    text = signed_in(admin_user).get(reverse("accounts:members", args=["acme"])).content.decode()
    rows = {
        email: row
        for row, email in re.findall(
            r'(<tr id="member-\d+">.*?([\w.]+@example\.com).*?</tr>)', text, re.S
        )
    }
    assert 'status-active">On' in rows["admin@example.com"]
    assert 'status-active">On' in rows["member@example.com"]
    assert 'Off</span> <span class="muted small">required here' in rows["manager@example.com"]


def test_a_role_change_row_keeps_its_two_factor_cell(workspace, admin_user, member_user):
    enrol_totp(admin_user)
    require(workspace, ADMINS_AND_MANAGERS)
    membership = Membership.objects.get(user=member_user)
    response = signed_in(admin_user).post(
        reverse("accounts:member_role", args=["acme", membership.pk]), {"role": "manager"}, **HTMX
    )
    assert "required here" in response.content.decode()


@pytest.mark.parametrize("data", [{"two_factor_policy": "sometimes"}, {}], ids=["bogus", "none"])
def test_a_bad_section_post_is_a_field_error_not_a_500(workspace, admin_user, data):
    enrol_totp(admin_user)
    response = signed_in(admin_user).post(policies_url(), {"section": "two_factor", **data})
    assert response.status_code == 200
    assert 'id="two-factor-policy-error"' in response.content.decode()
    workspace.refresh_from_db()
    assert workspace.two_factor_policy == TwoFactorPolicy.OFF and events() == []
