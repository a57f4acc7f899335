"""One permission table: changing a row of LOWEST_ROLE changes the page and the action together
(view, template and service all read it), so a page never offers what its POST refuses."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.permissions import LOWEST_ROLE, Perm
from accounts.roles import Role
from tests.conftest import PASSWORD
from tests.factories import issue, signed_in
from tests.tokens_console.conftest import parse
from tokens.models import Resource, WorkspacePolicy

pytestmark = pytest.mark.django_db


def url(name: str, **kwargs) -> str:
    return reverse(f"tokens:{name}", kwargs={"slug": "acme", **kwargs})


def links_to(response, href: str) -> bool:
    return any(a.attrs.get("href") == href for a in parse(response).find_all("a"))


def test_lowering_resources_manage_opens_the_page_and_the_action(
    monkeypatch, workspace, manager_user
):
    monkeypatch.setitem(LOWEST_ROLE, Perm.RESOURCES_MANAGE, Role.MANAGER)
    client = signed_in(manager_user)

    page = client.get(url("resources"))
    form = client.get(url("resource_create"))
    action = client.post(url("resource_create"), {"name": "orders-db"})

    assert links_to(page, url("resource_create"))
    assert "can add, rename or delete" not in page.content.decode()
    assert form.status_code == 200
    assert action.status_code == 302
    assert Resource.objects.filter(workspace=workspace, name="orders-db").exists()


def test_lowering_policies_manage_opens_the_form_and_the_save(monkeypatch, workspace, manager_user):
    monkeypatch.setitem(LOWEST_ROLE, Perm.POLICIES_MANAGE, Role.MANAGER)
    client = signed_in(manager_user)

    page = client.get(url("policies"))
    data = {"max_lifetime_days": "30", "reveal_policy": "show_once", "password": PASSWORD}
    action = client.post(url("policies"), data)

    assert not [n for n in parse(page).find_all("input") if "disabled" in n.attrs]
    assert action.status_code == 302
    assert WorkspacePolicy.objects.get(workspace=workspace).max_lifetime_days == 30


def test_raising_manage_workspace_tokens_closes_the_button_and_the_action(
    monkeypatch, workspace, admin_user, manager_user
):
    token, _ = issue(admin_user, workspace, "ci")
    monkeypatch.setitem(LOWEST_ROLE, Perm.TOKENS_MANAGE_WORKSPACE, Role.ADMIN)
    client = signed_in(manager_user)

    page = client.get(url("list"))
    form = client.get(url("rename", public_id=token.public_id))
    action = client.post(url("rename", public_id=token.public_id), {"name": "renamed"})

    assert not links_to(page, url("rename", public_id=token.public_id))
    assert form.status_code == 403
    assert action.status_code == 403
    token.refresh_from_db()
    assert token.name == "ci"


def test_raising_check_values_hides_the_button_and_refuses_the_check(
    monkeypatch, workspace, manager_user
):
    monkeypatch.setitem(LOWEST_ROLE, Perm.TOKENS_CHECK_VALUES, Role.ADMIN)
    client = signed_in(manager_user)

    page = client.get(url("list"))
    action = client.post(url("check"), {"value": "kw_anything"})

    assert not links_to(page, url("check"))
    assert action.status_code == 403


def test_raising_create_workspace_tokens_removes_the_kind_and_refuses_it(
    monkeypatch, workspace, manager_user
):
    monkeypatch.setitem(LOWEST_ROLE, Perm.TOKENS_CREATE_WORKSPACE, Role.ADMIN)
    client = signed_in(manager_user)

    form = client.get(url("create"))
    action = client.post(url("create"), {"name": "ci", "kind": "workspace"})

    kinds = {n.attrs["value"] for n in parse(form).find_all("input") if n.attrs["name"] == "kind"}
    assert kinds == {"personal"}
    assert action.status_code == 403
