"""Writers that lock a token, a policy, a resource or the workspace, racing each other
(PostgreSQL only): one waits for the other, none deadlocks. Every writer locks the
workspace first (accounts.locks); tests pause a writer half-way where it once held a token
another wanted.

Issuing and a ceiling's save lock the workspace's row first. PostgreSQL's foreign key
check also locks that row (FOR KEY SHARE) when a revocation or a policy change commits
its audit event, so the workspace lock must leave it free (FOR NO KEY UPDATE): with FOR
UPDATE every test here ended in "deadlock detected", a 500 for whoever lost.
"""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from accounts.models import Membership, User
from accounts.services import membership_remove
from gateway.limit_models import TokenLimits
from gateway.limit_policy_services import set_limit_policy
from gateway.limit_services import Quota, token_limits_set
from gateway.services import service_create
from tests.factories import actor_of, issue
from tests.row_locks import WAIT, race
from tokens import services
from tokens.actors import Actor
from tokens.auth import authenticate_token
from tokens.models import Token, TokenKind
from tokens.services import tokens as token_services
from tokens.services.policies import policy_update, workspace_policy
from tokens.services.resources import resource_create, resource_delete

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks between sessions need PostgreSQL (scripts/with-postgres.sh)")


def revoking(actor, token):
    """Return a first writer that revokes `token` and holds its transaction open."""

    def revoke(holding, commit):
        with transaction.atomic():
            services.token_revoke(actor=actor, token=token)
            holding.set()
            commit.wait(WAIT)

    return revoke


def test_a_token_made_by_a_token_being_revoked_is_refused(admin_user, workspace):
    maker, secret = issue(admin_user, workspace, "maker", scopes=["tokens:read", "tokens:write"])
    acting_maker = Actor.token(authenticate_token(secret))

    def create_by_the_maker():
        services.token_create(
            actor=acting_maker, workspace=workspace, name="made", scopes=["tokens:read"]
        )

    errors, waited = race(revoking(actor_of(admin_user, workspace), maker), create_by_the_maker)

    assert waited
    assert [getattr(error, "code", error) for error in errors] == ["maker_inactive"]
    assert not Token.objects.filter(name="made").exists()


def test_a_token_rotated_while_it_is_revoked_is_refused(admin_user, workspace):
    token, _ = issue(admin_user, workspace, "ci")
    admin = actor_of(admin_user, workspace)

    errors, waited = race(
        revoking(admin, token), lambda: services.token_rotate(actor=admin, token=token)
    )

    assert waited
    assert [getattr(error, "code", error) for error in errors] == ["not_rotatable"]
    assert Token.objects.filter(workspace=workspace).count() == 1


def test_a_token_issued_while_the_policies_change_waits_for_them(admin_user, workspace):
    admin = actor_of(admin_user, workspace)
    workspace_policy(workspace)  # the row exists: the issuer locks it rather than inserting it

    def change_policies(holding, commit):
        with transaction.atomic():
            policy_update(
                actor=admin,
                workspace=workspace,
                max_lifetime_days=30,
                allow_never_expiring=False,
                members_may_create_personal=True,
                reveal_policy="show_once",
            )
            holding.set()
            commit.wait(WAIT)

    errors, waited = race(change_policies, lambda: issue(admin_user, workspace, "new"))

    assert waited
    assert errors == []
    assert Token.objects.filter(name="new").exists()


def test_a_ceiling_saved_while_a_token_is_revoked_waits_for_it(admin_user, workspace):
    revoked, _ = issue(admin_user, workspace, "old")
    kept, _ = issue(admin_user, workspace, "kept")
    admin = actor_of(admin_user, workspace)

    errors, waited = race(
        revoking(admin, revoked),
        lambda: set_limit_policy(actor=admin, workspace=workspace, max_quota=100),
    )

    assert waited
    assert errors == []
    assert TokenLimits.objects.get(token=kept).quota == 100


@pytest.mark.parametrize("how", ["queryset", "save"])
def test_a_user_deactivated_while_revoking_a_token_of_theirs_waits_for_it(
    manager_user, workspace, how
):
    """Deactivation locks the user and then revokes their tokens; the revocation holds one
    of those tokens and, committing its audit event, the key-share lock on its actor."""
    token, _ = issue(manager_user, workspace, "mine", kind=TokenKind.PERSONAL)
    other, _ = issue(manager_user, workspace, "also mine", kind=TokenKind.PERSONAL)

    def deactivate():
        if how == "queryset":  # the admin's bulk action
            User.objects.filter(pk=manager_user.pk).update(is_active=False)
        else:
            user = User.objects.get(pk=manager_user.pk)
            user.is_active = False
            user.save()

    errors, waited = race(revoking(actor_of(manager_user, workspace), token), deactivate)

    assert waited
    assert errors == []
    assert not User.objects.get(pk=manager_user.pk).is_active
    assert Token.objects.get(pk=other.pk).revoked_at is not None
    assert Token.objects.get(pk=token.pk).revoke_reason == "user"


def deleting(actor, resource):
    """Return a first writer that deletes `resource` and holds its transaction open."""

    def delete(holding, commit):
        with transaction.atomic():
            resource_delete(actor=actor, resource=resource)
            holding.set()
            commit.wait(WAIT)

    return delete


def test_a_token_created_for_a_resource_being_deleted_is_told_it_is_gone(admin_user, workspace):
    admin = actor_of(admin_user, workspace)
    going = resource_create(actor=admin, workspace=workspace, name="Going")
    staying = resource_create(actor=admin, workspace=workspace, name="Staying")
    workspace_policy(workspace)  # the row exists: the issuer reads it without waiting

    def create():
        issue(admin_user, workspace, "new", resource_ids=[going.pk, staying.pk])

    errors, waited = race(deleting(admin, going), create)

    assert waited
    assert [getattr(error, "message_dict", error) for error in errors] == [
        {"resources": ["Unknown resource."]}
    ]
    assert not Token.objects.filter(name="new").exists()


def test_a_token_rotated_while_its_services_resource_is_deleted_loses_the_scope_after(
    admin_user, workspace
):
    admin = actor_of(admin_user, workspace)
    going = resource_create(actor=admin, workspace=workspace, name="Billing")
    staying = resource_create(actor=admin, workspace=workspace, name="Staying")
    service_create(actor=admin, resource=going, slug="billing", rules=[("api.example.com", "/")])
    token, _ = issue(
        admin_user,
        workspace,
        "sync",
        scopes=["tokens:read", "billing:read"],
        resource_ids=[going.pk, staying.pk],
    )

    def rotate(holding, commit):
        with transaction.atomic():
            services.token_rotate(actor=admin, token=token)
            holding.set()
            commit.wait(WAIT)

    errors, waited = race(rotate, lambda: resource_delete(actor=admin, resource=going))

    assert waited
    assert errors == []
    successor = Token.objects.get(rotated_from=token)
    assert successor.scopes == ["tokens:read"]
    assert [resource.name for resource in successor.resources.all()] == ["Staying"]


def test_a_services_resource_deleted_while_a_token_holding_its_scope_is_revoked_waits(
    admin_user, workspace
):
    admin = actor_of(admin_user, workspace)
    going = resource_create(actor=admin, workspace=workspace, name="Billing")
    service_create(actor=admin, resource=going, slug="billing", rules=[("api.example.com", "/")])
    token, _ = issue(admin_user, workspace, "sync", scopes=["billing:read"])

    errors, waited = race(
        revoking(admin, token), lambda: resource_delete(actor=admin, resource=going)
    )

    assert waited
    assert errors == []
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert token.scopes == []


def test_a_member_removed_while_revoking_a_token_of_theirs_waits_for_it(
    admin_user, manager_user, workspace
):
    token, _ = issue(manager_user, workspace, "mine", kind=TokenKind.PERSONAL)
    other, _ = issue(manager_user, workspace, "also mine", kind=TokenKind.PERSONAL)
    membership = Membership.objects.get(user=manager_user, workspace=workspace)

    def remove():
        membership_remove(membership=membership, actor=admin_user)

    errors, waited = race(revoking(actor_of(manager_user, workspace), token), remove)

    assert waited
    assert errors == []
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert Token.objects.get(pk=other.pk).revoked_at is not None


def test_a_token_renamed_and_limited_in_one_change_while_it_is_rotated_waits(admin_user, workspace):
    """The API's PATCH renames a token and sets its limits in one transaction."""
    token, _ = issue(admin_user, workspace, "ci")
    admin = actor_of(admin_user, workspace)

    def rename_and_limit(holding, commit):
        with transaction.atomic():
            services.token_rename(actor=admin, token=token, name="ci-renamed")
            holding.set()
            commit.wait(WAIT)
            token_limits_set(actor=admin, token=token, rate=None, quota=Quota(100))

    errors, waited = race(
        rename_and_limit,
        lambda: services.token_rotate(actor=admin, token=Token.objects.get(pk=token.pk)),
    )

    assert waited
    assert errors == []
    successor = Token.objects.get(rotated_from=token)
    assert successor.name == "ci-renamed"


def pausing_after_the_first_revocation(monkeypatch) -> dict:
    """Make the next revocation stop, its token locked, until the race lets it go on;
    return where the race puts its events (holding, commit)."""
    original = token_services._revoke_made_by
    pause: dict = {}

    def paused(parent, **kwargs):
        if "holding" in pause:
            pause.pop("holding").set()
            pause.pop("commit").wait(WAIT)
        return original(parent, **kwargs)

    monkeypatch.setattr(token_services, "_revoke_made_by", paused)
    return pause


def test_a_ceiling_saved_while_a_member_is_removed_waits_for_the_removal(
    admin_user, manager_user, workspace, monkeypatch
):
    """The removal revokes the member's tokens one by one; the ceiling locks every token
    beyond it at once."""
    older, _ = issue(manager_user, workspace, "older", kind=TokenKind.PERSONAL)
    newer, _ = issue(manager_user, workspace, "newer", kind=TokenKind.PERSONAL)
    membership = Membership.objects.get(user=manager_user, workspace=workspace)
    pause = pausing_after_the_first_revocation(monkeypatch)

    def remove(holding, commit):
        pause.update(holding=holding, commit=commit)
        membership_remove(membership=membership, actor=admin_user)

    errors, waited = race(
        remove,
        lambda: set_limit_policy(
            actor=actor_of(admin_user, workspace), workspace=workspace, max_quota=100
        ),
    )

    assert waited
    assert errors == []
    assert Token.objects.filter(pk__in=[older.pk, newer.pk], revoked_at=None).count() == 0


def test_a_leak_report_naming_a_maker_and_its_token_while_the_maker_is_revoked(
    admin_user, workspace, monkeypatch
):
    """The report revokes each token it names; revoking the maker revokes what it made."""
    maker, maker_secret = issue(
        admin_user, workspace, "maker", scopes=["tokens:read", "tokens:write"]
    )
    made, made_secret = services.token_create(
        actor=Actor.token(authenticate_token(maker_secret)),
        workspace=workspace,
        name="made",
        scopes=["tokens:read"],
    )
    pause = pausing_after_the_first_revocation(monkeypatch)

    def report(holding, commit):
        pause.update(holding=holding, commit=commit)
        with transaction.atomic():
            services.tokens_revoke_leaked([(made_secret, {}), (maker_secret, {})])

    errors, waited = race(
        report,
        lambda: services.token_revoke(actor=actor_of(admin_user, workspace), token=maker),
    )

    assert waited
    assert errors == []
    assert Token.objects.filter(pk__in=[maker.pk, made.pk], revoked_at=None).count() == 0
