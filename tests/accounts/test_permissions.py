"""Who may do what in a workspace: has_perm, the `can` filter and the workspace_view decorator."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.template import Context, Template
from django.test import RequestFactory

from accounts.models import Membership
from accounts.permissions import Perm, has_perm, require_perm, workspace_view
from accounts.roles import Role
from tests.conftest import make_member

pytestmark = pytest.mark.django_db

# The lowest role each permission needs, as the design states it (DESIGN.md §2).
EXPECTED = {
    Perm.WORKSPACE_VIEW: {Role.ADMIN, Role.MANAGER, Role.MEMBER},
    Perm.MEMBERS_VIEW: {Role.ADMIN, Role.MANAGER, Role.MEMBER},
    Perm.MEMBERS_MANAGE: {Role.ADMIN},
    Perm.RESOURCES_MANAGE: {Role.ADMIN},
    Perm.POLICIES_MANAGE: {Role.ADMIN},
    Perm.AUDIT_VIEW: {Role.ADMIN, Role.MANAGER},
    Perm.TOKENS_VIEW_ALL: {Role.ADMIN, Role.MANAGER},
    Perm.TOKENS_CREATE_WORKSPACE: {Role.ADMIN, Role.MANAGER},
    Perm.TOKENS_CREATE_PERSONAL: {Role.ADMIN, Role.MANAGER},
    Perm.TOKENS_MANAGE_WORKSPACE: {Role.ADMIN, Role.MANAGER},
    Perm.TOKENS_REVOKE_ANY: {Role.ADMIN},
    Perm.TOKENS_CHECK_VALUES: {Role.ADMIN, Role.MANAGER},
}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("perm", list(Perm))
def test_has_perm_per_role(role, perm):
    membership = Membership(role=role)

    assert has_perm(membership, perm) is (role in EXPECTED[perm])
    assert has_perm(membership, perm.value) is (role in EXPECTED[perm])


@pytest.mark.parametrize("perm", list(Perm))
def test_no_membership_grants_nothing(perm):
    assert has_perm(None, perm) is False


@pytest.mark.parametrize(
    ("perm", "words"),
    [
        (Perm.MEMBERS_MANAGE, "Admins"),
        (Perm.AUDIT_VIEW, "Admins and Managers"),
        (Perm.WORKSPACE_VIEW, "Admins, Managers and Members"),
    ],
)
def test_roles_with_filter_names_the_roles_the_table_grants(perm, words):
    template = Template("{% load console %}{{ perm|roles_with }}")

    assert template.render(Context({"perm": perm.value})) == words


def test_unknown_permission_is_an_error_not_a_grant():
    with pytest.raises(ValueError, match=r"members\.delete_everything"):
        has_perm(Membership(role=Role.ADMIN), "members.delete_everything")


def test_require_perm_raises_permission_denied_for_a_low_role():
    require_perm(Membership(role=Role.ADMIN), Perm.MEMBERS_MANAGE)

    with pytest.raises(PermissionDenied):
        require_perm(Membership(role=Role.MANAGER), Perm.MEMBERS_MANAGE)


@pytest.mark.parametrize(
    ("role", "shown"), [(Role.ADMIN, True), (Role.MANAGER, False), (Role.MEMBER, False)]
)
def test_can_filter_asks_has_perm(role, shown):
    template = Template('{% load console %}{% if m|can:"members.manage" %}yes{% endif %}')

    assert (template.render(Context({"m": Membership(role=role)})) == "yes") is shown


# workspace_view ------------------------------------------------------------------


@workspace_view(Perm.MEMBERS_MANAGE)
def manage_view(request, *args, **kwargs):
    return HttpResponse(
        f"{request.workspace.slug}|{request.membership.role}|{sorted(kwargs)}|{args}"
    )


@workspace_view()
def default_view(request):
    return HttpResponse(request.workspace.slug)


def _request(user):
    request = RequestFactory().get("/w/acme/settings/")
    request.user = user
    return request


def test_workspace_view_runs_the_view_for_an_allowed_member(admin_user):
    response = manage_view(_request(admin_user), slug="acme", pk=3)

    assert response.status_code == 200
    # The view sees the workspace and membership, and no longer the slug.
    assert response.content.decode() == "acme|admin|['pk']|()"


@pytest.mark.parametrize("fixture", ["manager_user", "member_user"])
def test_workspace_view_answers_403_to_a_role_too_low(request, fixture):
    user = request.getfixturevalue(fixture)

    with pytest.raises(PermissionDenied):
        manage_view(_request(user), slug="acme")


def test_workspace_view_default_lets_every_member_in(member_user):
    assert default_view(_request(member_user), slug="acme").status_code == 200


def test_workspace_view_answers_404_to_a_non_member(outsider, workspace):
    # The outsider is Admin elsewhere: the role there must not count here.
    with pytest.raises(Http404):
        manage_view(_request(outsider), slug="acme")
    with pytest.raises(Http404):
        default_view(_request(outsider), slug="acme")


def test_workspace_view_answers_404_for_a_workspace_that_does_not_exist(admin_user):
    with pytest.raises(Http404):
        default_view(_request(admin_user), slug="no-such-workspace")


def test_workspace_view_uses_the_membership_of_the_workspace_in_the_url(
    admin_user, workspace, other_workspace
):
    # Admin in acme, only Member in globex: globex must answer 403, not use the acme role.
    Membership.objects.create(user=admin_user, workspace=other_workspace, role=Role.MEMBER)

    with pytest.raises(PermissionDenied):
        manage_view(_request(admin_user), slug="globex")
    assert manage_view(_request(admin_user), slug="acme").status_code == 200


def test_workspace_view_answers_404_to_a_deactivated_member(workspace):
    user = make_member(workspace, "gone@example.com", Role.ADMIN)
    user.is_active = False
    user.save()

    with pytest.raises(Http404):
        default_view(_request(user), slug="acme")


def test_workspace_view_sends_anonymous_visitors_to_sign_in(workspace):
    response = default_view(_request(AnonymousUser()), slug="acme")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/w/acme/settings/"
