"""The seed_demo command: the demo workspace, its people, and running it twice."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import AuditEvent, Membership, User, Workspace
from accounts.roles import Role

pytestmark = pytest.mark.django_db

DEMO_ROLES = {
    "admin@example.com": Role.ADMIN,
    "manager@example.com": Role.MANAGER,
    "member@example.com": Role.MEMBER,
}


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def _counts() -> tuple[int, ...]:
    return (
        User.objects.count(),
        Workspace.objects.count(),
        Membership.objects.count(),
        AuditEvent.objects.count(),
    )


@pytest.fixture(autouse=True)
def _no_demo_password(monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)


@pytest.fixture(autouse=True)
def _development(settings):
    settings.DEBUG = True


def test_seed_creates_the_acme_workspace_with_one_person_per_role():
    _seed()

    workspace = Workspace.objects.get()
    assert (workspace.slug, workspace.name) == ("acme", "Acme")
    roles = dict(workspace.memberships.values_list("user__email", "role"))
    assert roles == DEMO_ROLES


def test_seed_makes_the_operator_a_superuser_outside_any_workspace():
    _seed()

    operator = User.objects.get(email="operator@example.com")
    assert operator.is_staff
    assert operator.is_superuser
    assert not operator.memberships.exists()
    assert not User.objects.filter(email__in=DEMO_ROLES, is_staff=True).exists()


def test_seed_is_idempotent():
    _seed()
    first = _counts()
    roles = dict(Membership.objects.values_list("user__email", "role"))

    _seed()

    assert _counts() == first
    assert dict(Membership.objects.values_list("user__email", "role")) == roles


def test_seed_repairs_changed_roles_and_operator_rights():
    _seed()
    Membership.objects.filter(user__email="admin@example.com").update(role=Role.MEMBER)
    User.objects.filter(email="operator@example.com").update(is_superuser=False)

    _seed()

    assert Membership.objects.get(user__email="admin@example.com").role == Role.ADMIN
    assert User.objects.get(email="operator@example.com").is_superuser


def test_seed_uses_the_default_demo_password_for_the_members_only():
    out = _seed()

    operator = User.objects.get(email="operator@example.com")
    members = User.objects.exclude(pk=operator.pk)
    assert all(user.check_password("keyward-demo") for user in members)
    assert "keyward-demo" in out
    assert not operator.check_password("keyward-demo")
    printed = re.search(r"operator@example\.com +operator password: (\S+) ", out).group(1)
    assert operator.check_password(printed)


def test_seed_never_leaves_the_operator_with_the_default_password():
    _seed()
    operator = User.objects.get(email="operator@example.com")
    operator.set_password("keyward-demo")
    operator.save()

    _seed()

    operator.refresh_from_db()
    assert not operator.check_password("keyward-demo")


def test_seed_refuses_without_debug(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="only with DEBUG=1"):
        _seed()

    assert not User.objects.exists()


def test_seed_with_force_runs_without_debug(settings):
    settings.DEBUG = False

    call_command("seed_demo", "--force", stdout=StringIO())

    assert User.objects.get(email="operator@example.com").is_superuser


def test_seed_respects_demo_password(monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "a-different-demo-secret")

    out = _seed()

    users = list(User.objects.all())
    assert len(users) == 4
    assert all(user.check_password("a-different-demo-secret") for user in users)
    assert not any(user.check_password("keyward-demo") for user in users)
    assert "a-different-demo-secret" in out


def test_seed_again_with_a_new_demo_password_updates_it(monkeypatch):
    _seed()
    monkeypatch.setenv("DEMO_PASSWORD", "changed-demo-secret")

    _seed()

    assert all(user.check_password("changed-demo-secret") for user in User.objects.all())


def test_seed_keeps_other_members_of_acme(workspace, outsider):
    Membership.objects.create(user=outsider, workspace=workspace, role=Role.MANAGER)

    _seed()

    assert Membership.objects.get(user=outsider, workspace=workspace).role == Role.MANAGER
