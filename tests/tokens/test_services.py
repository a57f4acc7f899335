"""The token services: what each action stores, audits and refuses, and the role rules."""

from __future__ import annotations

import io
import logging
from datetime import UTC, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.utils import timezone

from accounts import services as accounts_services
from accounts.models import AuditEvent, Membership
from accounts.permissions import membership_for
from accounts.roles import Role
from tests.conftest import make_member
from tests.factories import actor_of, issue
from tokens import secrets, services, validation
from tokens.actors import Actor
from tokens.auth import AuthenticationFailed, authenticate_token
from tokens.models import (
    Resource,
    RevokeReason,
    Token,
    TokenKind,
    TokenStatus,
    WorkspacePolicy,
)

pytestmark = pytest.mark.django_db


def state() -> tuple:
    """Return a snapshot of every row the token services may write."""
    return (
        list(Token.objects.order_by("id").values()),
        AuditEvent.objects.count(),
    )


def failure_reason(value: str) -> str | None:
    """Return why `value` does not authenticate, or None when it does."""
    try:
        authenticate_token(value, record_use=False)
    except AuthenticationFailed as failure:
        return failure.reason
    return None


def set_policy(workspace, **fields):
    policy = services.workspace_policy(workspace)
    for name, value in fields.items():
        setattr(policy, name, value)
    policy.save()


# Create -------------------------------------------------------------------------


def test_create_returns_a_secret_whose_digest_is_stored(workspace, admin_user):
    token, secret = issue(admin_user, workspace, scopes=["tokens:read", "tokens:write"])

    stored = Token.objects.get(pk=token.pk)
    assert secrets.TokenParser("kw").parse(secret).kind == "workspace"
    assert stored.digest == secrets.digest(secret)
    assert stored.last_four == secret[-4:]
    assert stored.prefix == "kww_"
    assert stored.kind == TokenKind.WORKSPACE
    assert stored.owner is None
    assert stored.created_by == admin_user
    assert stored.scopes == ["tokens:read", "tokens:write"]
    assert stored.status() == TokenStatus.ACTIVE


def test_create_stores_the_plaintext_nowhere(workspace, admin_user, caplog):
    caplog.set_level(logging.DEBUG)
    token, secret = issue(admin_user, workspace, description="deploys", allowed_ips=["10.0.0.0/8"])
    random_part = secret[4:34]

    row = Token.objects.get(pk=token.pk)
    for field in Token._meta.concrete_fields:
        value = str(field.value_from_object(row))
        assert secret not in value, field.name
        assert random_part not in value, field.name
    event = AuditEvent.objects.get(action="token.created", target_id=token.public_id)
    for field in AuditEvent._meta.concrete_fields:
        assert random_part not in str(field.value_from_object(event)), field.name
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    assert token.digest in dump.getvalue()  # the dump does hold the token's row
    assert random_part not in dump.getvalue()
    assert random_part not in caplog.text


def test_create_writes_an_audit_event_naming_the_member(workspace, admin_user):
    token, _ = issue(admin_user, workspace, name="deploy", scopes=["tokens:read"])

    event = AuditEvent.objects.get(action="token.created")
    assert event.workspace == workspace
    assert event.actor_user == admin_user
    assert event.actor_token_id == ""
    assert event.target_type == "token"
    assert event.target_id == token.public_id
    assert event.details["name"] == "deploy"
    assert event.details["scopes"] == ["tokens:read"]


def test_a_member_cannot_create_a_workspace_token(workspace, member_user):
    before = state()

    with pytest.raises(PermissionDenied):
        issue(member_user, workspace, kind=TokenKind.WORKSPACE)

    assert state() == before


def test_a_manager_can_create_a_workspace_token(workspace, manager_user):
    token, _ = issue(manager_user, workspace, kind=TokenKind.WORKSPACE)

    assert token.kind == TokenKind.WORKSPACE


def test_a_member_can_create_a_personal_token_when_policy_allows(workspace, member_user):
    token, secret = issue(member_user, workspace, kind=TokenKind.PERSONAL)

    assert token.owner == member_user
    assert token.prefix == "kwp_"
    assert secret.startswith("kwp_")


def test_a_member_cannot_create_a_personal_token_when_policy_forbids(workspace, member_user):
    set_policy(workspace, members_may_create_personal=False)
    before = state()

    with pytest.raises(PermissionDenied):
        issue(member_user, workspace, kind=TokenKind.PERSONAL)

    assert state() == before


def test_a_manager_may_create_a_personal_token_whatever_the_member_policy(workspace, manager_user):
    set_policy(workspace, members_may_create_personal=False)

    token, _ = issue(manager_user, workspace, kind=TokenKind.PERSONAL)

    assert token.owner == manager_user


def test_an_unknown_kind_is_a_validation_error(workspace, admin_user):
    with pytest.raises(ValidationError) as error:
        issue(admin_user, workspace, kind="robot")

    assert "kind" in error.value.message_dict


def test_a_member_cannot_grant_scopes_above_their_role(workspace, member_user):
    before = state()

    with pytest.raises(ValidationError) as error:
        issue(
            member_user, workspace, kind=TokenKind.PERSONAL, scopes=["tokens:read", "tokens:write"]
        )

    assert "tokens:write" in error.value.message_dict["scopes"][0]
    assert state() == before


def test_a_manager_can_grant_manager_scopes(workspace, manager_user):
    token, _ = issue(manager_user, workspace, scopes=["tokens:write", "tokens:introspect"])

    assert token.scopes == ["tokens:write", "tokens:introspect"]


def test_scopes_are_stored_in_catalogue_order_without_duplicates(workspace, admin_user):
    token, _ = issue(
        admin_user, workspace, scopes=["tokens:write", "workspace:read", "tokens:write"]
    )

    assert token.scopes == ["workspace:read", "tokens:write"]


@pytest.mark.parametrize("scopes", [["packages:upload"], ["tokens:read", "TOKENS:READ"], []])
def test_unknown_or_missing_scopes_are_refused(workspace, admin_user, scopes):
    with pytest.raises(ValidationError) as error:
        issue(admin_user, workspace, scopes=scopes)

    assert list(error.value.message_dict) == ["scopes"]


def test_a_token_actor_cannot_grant_more_than_its_own_scopes(workspace, admin_user):
    _, secret = issue(admin_user, workspace, scopes=["tokens:read", "tokens:write"])
    actor = Actor.token(authenticate_token(secret))

    with pytest.raises(ValidationError) as error:
        services.token_create(
            actor=actor, workspace=workspace, name="wider", scopes=["tokens:introspect"]
        )

    assert "scopes" in error.value.message_dict


@pytest.mark.parametrize("entry", ["10.0.0.300/8", "not-an-ip", "10.0.0.0/33", "::g/64"])
def test_a_bad_ip_range_is_an_error_on_allowed_ips(workspace, admin_user, entry):
    before = state()

    with pytest.raises(ValidationError) as error:
        issue(admin_user, workspace, allowed_ips=["192.0.2.0/24", entry])

    assert list(error.value.message_dict) == ["allowed_ips"]
    assert entry in error.value.message_dict["allowed_ips"][0]
    assert state() == before


def test_ip_ranges_are_normalised(workspace, admin_user):
    token, _ = issue(
        admin_user, workspace, allowed_ips="10.1.2.3/8, 2001:DB8::1/32\n\n203.0.113.7, 10.0.0.0/8"
    )

    assert token.allowed_ips == ["10.0.0.0/8", "2001:db8::/32", "203.0.113.7/32"]


def test_resources_must_belong_to_the_workspace(workspace, other_workspace, admin_user):
    mine = Resource.objects.create(workspace=workspace, name="db")
    theirs = Resource.objects.create(workspace=other_workspace, name="db")

    token, _ = issue(admin_user, workspace, resource_ids=[mine.pk])
    with pytest.raises(ValidationError) as error:
        issue(admin_user, workspace, name="other", resource_ids=[mine.pk, theirs.pk])

    assert list(token.resources.all()) == [mine]
    assert list(error.value.message_dict) == ["resources"]


def test_expiry_beyond_the_policys_lifetime_is_refused(workspace, admin_user):
    set_policy(workspace, max_lifetime_days=30)
    before = state()

    with pytest.raises(ValidationError) as error:
        issue(admin_user, workspace, expires_at=timezone.now() + timedelta(days=31))

    assert list(error.value.message_dict) == ["expires_at"]
    assert "30 days" in error.value.message_dict["expires_at"][0]
    assert state() == before


def test_expiry_within_the_policys_lifetime_is_accepted(workspace, admin_user):
    set_policy(workspace, max_lifetime_days=30)
    expires_at = timezone.now() + timedelta(days=30)

    token, _ = issue(admin_user, workspace, expires_at=expires_at)

    assert token.expires_at == expires_at


def test_a_missing_expiry_is_refused_when_the_policy_has_a_lifetime(workspace, admin_user):
    set_policy(workspace, max_lifetime_days=30)

    with pytest.raises(ValidationError) as error:
        issue(admin_user, workspace, expires_at=None)

    assert list(error.value.message_dict) == ["expires_at"]


def test_a_missing_expiry_is_refused_when_never_expiring_is_disallowed(workspace, admin_user):
    set_policy(workspace, allow_never_expiring=False)

    with pytest.raises(ValidationError) as error:
        issue(admin_user, workspace, expires_at=None)

    assert list(error.value.message_dict) == ["expires_at"]


def test_a_missing_expiry_is_accepted_by_the_default_policy(workspace, admin_user):
    token, _ = issue(admin_user, workspace, expires_at=None)

    assert token.expires_at is None


def test_an_expiry_in_the_past_is_refused(workspace, admin_user):
    with pytest.raises(ValidationError) as error:
        issue(admin_user, workspace, expires_at=timezone.now() - timedelta(seconds=1))

    assert list(error.value.message_dict) == ["expires_at"]


def test_an_expiry_beyond_a_century_is_refused(workspace, admin_user):
    with pytest.raises(ValidationError) as error:
        issue(admin_user, workspace, expires_at=timezone.now() + timedelta(days=365 * 101))

    assert list(error.value.message_dict) == ["expires_at"]


def test_a_naive_expiry_is_read_in_the_default_time_zone(workspace, admin_user):
    naive = (timezone.now() + timedelta(days=3)).replace(tzinfo=None, microsecond=0)

    token, _ = issue(admin_user, workspace, expires_at=naive)

    token.refresh_from_db()
    assert token.expires_at == naive.replace(tzinfo=UTC)


@pytest.mark.parametrize("pk", ["²", "٣", "3_0", "1" * 5000, str(2**63), "0", "-1", "x"])
def test_resource_ids_that_cannot_exist_are_refused(workspace, admin_user, pk):
    with pytest.raises(ValidationError) as error:
        issue(admin_user, workspace, resource_ids=[pk])

    assert list(error.value.message_dict) == ["resources"]


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, "a\x00b", "tab\there", "\ud800"])
def test_a_bad_name_is_refused(workspace, admin_user, name):
    with pytest.raises(ValidationError) as error:
        issue(admin_user, workspace, name=name)

    assert list(error.value.message_dict) == ["name"]


@pytest.mark.parametrize("description", ["d" * 256, "nul\x00", "\udfff"])
def test_a_bad_description_is_refused(workspace, admin_user, description):
    with pytest.raises(ValidationError) as error:
        issue(admin_user, workspace, description=description)

    assert list(error.value.message_dict) == ["description"]


def test_a_duplicate_name_is_refused_and_nothing_is_created(workspace, admin_user):
    issue(admin_user, workspace, name="ci")
    before = state()

    with pytest.raises(ValidationError) as error:
        issue(admin_user, workspace, name="  ci ")

    assert list(error.value.message_dict) == ["name"]
    assert state() == before


def test_a_revoked_tokens_name_can_be_reused(workspace, admin_user):
    old, _ = issue(admin_user, workspace, name="ci")
    services.token_revoke(actor=actor_of(admin_user, workspace), token=old)

    new, _ = issue(admin_user, workspace, name="ci")

    assert new.name == "ci"


def test_an_expired_tokens_name_can_be_reused_and_it_stays_expired(workspace, admin_user, clock):
    old, _ = issue(admin_user, workspace, name="ci", expires_at=clock.now + timedelta(days=1))
    clock.advance(days=1)

    new, _ = issue(admin_user, workspace, name="ci")

    old.refresh_from_db()
    assert new.name == "ci"
    assert old.status() == TokenStatus.EXPIRED
    assert Token.objects.expired().get() == old


# Rename -------------------------------------------------------------------------


def test_rename_changes_name_and_description_and_is_audited(workspace, admin_user):
    token, _ = issue(admin_user, workspace, name="ci", description="old")

    services.token_rename(
        actor=actor_of(admin_user, workspace), token=token, name=" deploy ", description="new"
    )

    token.refresh_from_db()
    assert (token.name, token.description) == ("deploy", "new")
    event = AuditEvent.objects.get(action="token.renamed")
    assert event.actor_user == admin_user
    assert event.details["from"] == "ci"
    assert event.details["to"] == "deploy"
    assert event.details["description_changed"] is True


def test_rename_to_a_taken_name_is_refused_and_changes_nothing(workspace, admin_user):
    issue(admin_user, workspace, name="taken")
    token, _ = issue(admin_user, workspace, name="ci")
    before = state()

    with pytest.raises(ValidationError) as error:
        services.token_rename(actor=actor_of(admin_user, workspace), token=token, name="taken")

    assert list(error.value.message_dict) == ["name"]
    assert token.name == "ci"
    assert state() == before


def test_rename_without_a_change_writes_nothing(workspace, admin_user):
    token, _ = issue(admin_user, workspace, name="ci")
    before = state()

    services.token_rename(actor=actor_of(admin_user, workspace), token=token, name="ci")

    assert state() == before


def test_a_member_cannot_rename_a_workspace_token(workspace, admin_user, member_user):
    token, _ = issue(admin_user, workspace, name="ci")

    with pytest.raises(PermissionDenied):
        services.token_rename(actor=actor_of(member_user, workspace), token=token, name="mine")


# Rotate -------------------------------------------------------------------------


def test_rotate_without_grace_replaces_the_secret_at_once(workspace, admin_user):
    resource = Resource.objects.create(workspace=workspace, name="db")
    old, old_secret = issue(
        admin_user,
        workspace,
        name="ci",
        description="deploys",
        scopes=["tokens:read", "tokens:write"],
        resource_ids=[resource.pk],
        allowed_ips=["10.0.0.0/8"],
    )

    new, new_secret = services.token_rotate(
        actor=actor_of(admin_user, workspace), token=old, grace="none"
    )

    old.refresh_from_db()
    assert new_secret != old_secret
    assert new.digest == secrets.digest(new_secret)
    assert new.rotated_from == old
    assert old.revoke_reason == RevokeReason.ROTATION
    assert old.revoked_by == admin_user
    assert (new.name, new.description, new.kind) == ("ci", "deploys", "workspace")
    assert new.owner_id is None
    assert new.scopes == ["tokens:read", "tokens:write"]
    assert new.allowed_ips == ["10.0.0.0/8"]
    assert list(new.resources.all()) == [resource]
    assert failure_reason(old_secret) == "revoked"
    assert authenticate_token(new_secret, client_ip="10.1.1.1").public_id == new.public_id


def test_rotate_with_grace_keeps_the_old_secret_working_until_grace_ends(
    workspace, admin_user, clock
):
    old, old_secret = issue(admin_user, workspace)
    _, new_secret = services.token_rotate(
        actor=actor_of(admin_user, workspace), token=old, grace="1h"
    )
    old.refresh_from_db()

    assert old.revoked_at == clock.now + timedelta(hours=1)
    assert old.status() == TokenStatus.ACTIVE
    assert failure_reason(old_secret) is None
    clock.advance(minutes=59, seconds=59)
    assert failure_reason(old_secret) is None
    clock.advance(seconds=1)
    assert failure_reason(old_secret) == "revoked"
    assert failure_reason(new_secret) is None


@pytest.mark.parametrize(("grace", "delta"), [("1d", timedelta(days=1)), ("7d", timedelta(days=7))])
def test_rotation_grace_periods(workspace, admin_user, clock, grace, delta):
    old, _ = issue(admin_user, workspace)

    services.token_rotate(actor=actor_of(admin_user, workspace), token=old, grace=grace)

    old.refresh_from_db()
    assert old.revoked_at == clock.now + delta


def test_rotate_is_audited_for_both_tokens(workspace, admin_user):
    old, _ = issue(admin_user, workspace)

    new, _ = services.token_rotate(actor=actor_of(admin_user, workspace), token=old, grace="1h")

    rotated = AuditEvent.objects.get(action="token.rotated")
    created = AuditEvent.objects.filter(action="token.created").get(target_id=new.public_id)
    assert rotated.target_id == old.public_id
    assert rotated.details["new_token"] == new.public_id
    assert rotated.details["grace_seconds"] == 3600
    assert created.details["rotated_from"] == old.public_id
    assert rotated.actor_user == created.actor_user == admin_user


def test_rotate_keeps_the_lifetime(workspace, admin_user, clock):
    old, _ = issue(admin_user, workspace, expires_at=clock.now + timedelta(days=10))
    clock.advance(days=3)

    new, _ = services.token_rotate(actor=actor_of(admin_user, workspace), token=old)

    assert abs(new.expires_at - (clock.now + timedelta(days=10))) < timedelta(seconds=5)


def test_a_maker_revoked_after_it_authenticated_makes_nothing(workspace, admin_user):
    maker, secret = issue(admin_user, workspace, scopes=["tokens:read", "tokens:write"])
    target, _ = issue(admin_user, workspace, name="target")
    actor = Actor.token(authenticate_token(secret))
    services.token_revoke(actor=actor_of(admin_user, workspace), token=maker)
    before = state()

    with pytest.raises(ValidationError):
        services.token_create(actor=actor, workspace=workspace, name="late", scopes=["tokens:read"])
    with pytest.raises(ValidationError):
        services.token_rotate(actor=actor, token=target)

    assert state() == before


def test_rotation_gives_a_never_expiring_token_a_lifetime_once_the_policy_forbids_them(
    workspace, admin_user, clock
):
    old, _ = issue(admin_user, workspace)
    set_policy(workspace, allow_never_expiring=False, max_lifetime_days=None)

    new, _ = services.token_rotate(actor=actor_of(admin_user, workspace), token=old)

    assert new.expires_at == clock.now + timedelta(days=validation.DEFAULT_LIFETIME_DAYS)


@pytest.mark.parametrize(
    ("old_days", "cap", "new_days"), [(None, 10, 10), (90, 30, 30), (7, 30, 7)]
)
def test_rotation_caps_the_lifetime_by_the_current_policy(
    workspace, admin_user, clock, old_days, cap, new_days
):
    expires_at = clock.now + timedelta(days=old_days) if old_days else None
    old, _ = issue(admin_user, workspace, expires_at=expires_at)
    set_policy(workspace, max_lifetime_days=cap)

    new, _ = services.token_rotate(actor=actor_of(admin_user, workspace), token=old)

    assert abs(new.expires_at - (clock.now + timedelta(days=new_days))) < timedelta(seconds=5)


def test_a_token_rotating_a_token_bounds_the_new_one_by_itself(workspace, admin_user, clock):
    db = Resource.objects.create(workspace=workspace, name="db")
    _, maker_secret = issue(
        admin_user,
        workspace,
        name="maker",
        scopes=["tokens:read", "tokens:write"],
        expires_at=clock.now + timedelta(days=7),
    )
    long_lived, _ = issue(admin_user, workspace, expires_at=clock.now + timedelta(days=90))
    unlimited, _ = issue(admin_user, workspace, name="unlimited")
    _, limited_secret = issue(
        admin_user,
        workspace,
        name="limited",
        scopes=["tokens:read", "tokens:write"],
        resource_ids=[db.pk],
    )
    actor = Actor.token(authenticate_token(maker_secret))

    new, _ = services.token_rotate(actor=actor, token=long_lived)

    assert new.expires_at == clock.now + timedelta(days=7)
    assert new.created_by_token.name == "maker"
    limited_actor = Actor.token(authenticate_token(limited_secret))
    before = state()
    with pytest.raises(ValidationError) as refused:
        services.token_rotate(actor=limited_actor, token=unlimited)
    assert list(refused.value.message_dict) == ["resources"]
    assert state() == before


def test_a_person_rotating_a_token_made_by_a_token_keeps_it_within_its_maker(
    workspace, admin_user, clock
):
    _, maker_secret = issue(
        admin_user,
        workspace,
        name="maker",
        scopes=["tokens:read", "tokens:write"],
        expires_at=clock.now + timedelta(days=7),
    )
    child, _ = services.token_create(
        actor=Actor.token(authenticate_token(maker_secret)),
        workspace=workspace,
        name="child",
        scopes=["tokens:read"],
    )
    clock.advance(days=5)

    new, _ = services.token_rotate(actor=actor_of(admin_user, workspace), token=child)

    assert new.expires_at == child.expires_at  # the maker's end, not 7 more days
    assert new.created_by_token.name == "maker"
    assert new.created_by == admin_user


def test_a_token_rotating_itself_gets_a_new_secret_not_a_longer_life(workspace, admin_user, clock):
    token, secret = issue(
        admin_user,
        workspace,
        scopes=["tokens:read", "tokens:write"],
        expires_at=clock.now + timedelta(days=7),
    )
    clock.advance(days=3)

    new, _ = services.token_rotate(actor=Actor.token(authenticate_token(secret)), token=token)

    assert new.expires_at == token.expires_at


def test_a_token_in_grace_cannot_be_rotated_again(workspace, admin_user):
    old, _ = issue(admin_user, workspace)
    actor = actor_of(admin_user, workspace)
    services.token_rotate(actor=actor, token=old, grace="1h")
    before = state()

    with pytest.raises(ValidationError):
        services.token_rotate(actor=actor, token=old, grace="1h")

    assert state() == before


def test_a_revoked_token_cannot_be_rotated(workspace, admin_user):
    token, _ = issue(admin_user, workspace)
    actor = actor_of(admin_user, workspace)
    services.token_revoke(actor=actor, token=token)

    with pytest.raises(ValidationError):
        services.token_rotate(actor=actor, token=token)


def test_an_unknown_grace_is_refused(workspace, admin_user):
    token, _ = issue(admin_user, workspace)
    before = state()

    with pytest.raises(ValidationError) as error:
        services.token_rotate(actor=actor_of(admin_user, workspace), token=token, grace="2h")

    assert list(error.value.message_dict) == ["grace"]
    assert state() == before


def test_a_member_cannot_rotate_a_workspace_token(workspace, admin_user, member_user):
    token, _ = issue(admin_user, workspace)

    with pytest.raises(PermissionDenied):
        services.token_rotate(actor=actor_of(member_user, workspace), token=token)


def test_a_member_can_rotate_their_own_personal_token(workspace, member_user):
    token, _ = issue(member_user, workspace, kind=TokenKind.PERSONAL)

    new, _ = services.token_rotate(actor=actor_of(member_user, workspace), token=token)

    assert new.owner == member_user
    assert new.kind == TokenKind.PERSONAL


# Revoke -------------------------------------------------------------------------


def test_revoke_records_when_who_and_why(workspace, admin_user, clock):
    token, secret = issue(admin_user, workspace)

    services.token_revoke(
        actor=actor_of(admin_user, workspace), token=token, reason=RevokeReason.LEAK
    )

    token.refresh_from_db()
    assert token.revoked_at == clock.now
    assert token.revoked_by == admin_user
    assert token.revoke_reason == RevokeReason.LEAK
    assert token.status() == TokenStatus.REVOKED
    assert failure_reason(secret) == "revoked"
    event = AuditEvent.objects.get(action="token.revoked")
    assert event.actor_user == admin_user
    assert event.details["reason"] == "leak"


def test_revoking_twice_changes_nothing(workspace, admin_user):
    token, _ = issue(admin_user, workspace)
    actor = actor_of(admin_user, workspace)
    services.token_revoke(actor=actor, token=token)
    before = state()

    services.token_revoke(actor=actor, token=token, reason=RevokeReason.LEAK)

    assert state() == before


def test_revoking_a_token_in_grace_ends_the_grace_now(workspace, admin_user, clock):
    token, secret = issue(admin_user, workspace)
    actor = actor_of(admin_user, workspace)
    services.token_rotate(actor=actor, token=token, grace="7d")

    services.token_revoke(actor=actor, token=token, reason=RevokeReason.LEAK)

    token.refresh_from_db()
    assert token.revoked_at == clock.now
    assert token.revoke_reason == RevokeReason.LEAK
    assert failure_reason(secret) == "revoked"


def test_a_manager_cannot_revoke_another_users_personal_token(workspace, manager_user, member_user):
    token, _ = issue(member_user, workspace, kind=TokenKind.PERSONAL)
    before = state()

    with pytest.raises(PermissionDenied):
        services.token_revoke(actor=actor_of(manager_user, workspace), token=token)

    assert state() == before


def test_an_admin_can_revoke_another_users_personal_token(workspace, admin_user, member_user):
    token, _ = issue(member_user, workspace, kind=TokenKind.PERSONAL)

    services.token_revoke(actor=actor_of(admin_user, workspace), token=token)

    token.refresh_from_db()
    assert token.status() == TokenStatus.REVOKED
    assert token.revoked_by == admin_user


def test_a_member_can_revoke_their_own_personal_token_but_not_a_workspace_token(
    workspace, admin_user, member_user
):
    personal, _ = issue(member_user, workspace, kind=TokenKind.PERSONAL)
    shared, _ = issue(admin_user, workspace, name="shared")
    actor = actor_of(member_user, workspace)

    services.token_revoke(actor=actor, token=personal)
    with pytest.raises(PermissionDenied):
        services.token_revoke(actor=actor, token=shared)

    assert Token.objects.revoked().get() == personal


# Membership changes -------------------------------------------------------------


def test_removing_a_member_revokes_their_personal_tokens(
    workspace, other_workspace, admin_user, manager_user
):
    personal, secret = issue(manager_user, workspace, kind=TokenKind.PERSONAL)
    _, shared_secret = issue(manager_user, workspace, name="shared")
    Membership.objects.create(user=manager_user, workspace=other_workspace, role=Role.ADMIN)
    elsewhere, _ = issue(manager_user, other_workspace, kind=TokenKind.PERSONAL)

    accounts_services.membership_remove(
        membership=Membership.objects.get(user=manager_user, workspace=workspace),
        actor=admin_user,
    )

    personal.refresh_from_db()
    assert personal.revoke_reason == RevokeReason.MEMBER_REMOVED
    assert personal.status() == TokenStatus.REVOKED
    assert failure_reason(secret) == "revoked"
    assert failure_reason(shared_secret) is None  # a workspace token survives its creator
    assert Token.objects.active().filter(pk=elsewhere.pk).exists()
    event = AuditEvent.objects.get(action="token.revoked")
    assert event.target_id == personal.public_id
    assert event.actor_user == admin_user
    assert event.details["reason"] == "member_removed"


def test_demoting_revokes_personal_tokens_whose_scopes_exceed_the_new_role(
    workspace, admin_user, manager_user
):
    writer, _ = issue(
        manager_user,
        workspace,
        name="writer",
        kind=TokenKind.PERSONAL,
        scopes=["tokens:read", "tokens:write"],
    )
    reader, reader_secret = issue(
        manager_user, workspace, name="reader", kind=TokenKind.PERSONAL, scopes=["tokens:read"]
    )
    shared, _ = issue(manager_user, workspace, name="shared", scopes=["tokens:write"])

    accounts_services.membership_change_role(
        membership=Membership.objects.get(user=manager_user, workspace=workspace),
        role=Role.MEMBER,
        actor=admin_user,
    )

    writer.refresh_from_db()
    assert writer.revoke_reason == RevokeReason.ROLE_CHANGED
    assert writer.status() == TokenStatus.REVOKED
    assert set(Token.objects.active()) == {reader, shared}
    assert authenticate_token(reader_secret).owner_role == Role.MEMBER


def test_promoting_revokes_nothing(workspace, admin_user, member_user):
    issue(member_user, workspace, kind=TokenKind.PERSONAL)

    accounts_services.membership_change_role(
        membership=Membership.objects.get(user=member_user, workspace=workspace),
        role=Role.MANAGER,
        actor=admin_user,
    )

    assert Token.objects.active().count() == 1


def deactivate_by_save(user):
    user.is_active = False
    user.save(update_fields=["is_active"])


def deactivate_by_update(user):
    type(user).objects.filter(email__in=[user.email, "nobody@example.com"]).update(is_active=False)


@pytest.mark.parametrize("deactivate", [deactivate_by_save, deactivate_by_update])
def test_deactivating_a_user_revokes_their_personal_tokens_in_every_workspace(
    workspace, other_workspace, admin_user, manager_user, deactivate
):
    Membership.objects.create(user=manager_user, workspace=other_workspace, role=Role.ADMIN)
    here, secret = issue(manager_user, workspace, kind=TokenKind.PERSONAL)
    there, _ = issue(manager_user, other_workspace, kind=TokenKind.PERSONAL)
    shared, _ = issue(manager_user, workspace, name="shared")
    colleagues, _ = issue(admin_user, workspace, name="colleagues", kind=TokenKind.PERSONAL)

    deactivate(manager_user)

    for token in (here, there):
        token.refresh_from_db()
        assert token.status() == TokenStatus.REVOKED
        assert token.revoke_reason == RevokeReason.OWNER_DEACTIVATED
    assert failure_reason(secret) == "revoked"
    assert set(Token.objects.active()) == {shared, colleagues}
    events = AuditEvent.objects.filter(action="token.revoked")
    assert {(e.target_id, e.details["reason"]) for e in events} == {
        (here.public_id, "owner_deactivated"),
        (there.public_id, "owner_deactivated"),
    }


def test_reactivating_a_user_does_not_bring_their_tokens_back(workspace, member_user):
    token, secret = issue(member_user, workspace, kind=TokenKind.PERSONAL)
    deactivate_by_save(member_user)

    member_user.is_active = True
    member_user.save()

    assert Token.objects.get(pk=token.pk).status() == TokenStatus.REVOKED
    assert failure_reason(secret) == "revoked"


def test_saving_an_inactive_user_again_revokes_nothing_more(workspace, member_user):
    deactivate_by_save(member_user)
    before = AuditEvent.objects.count()

    member_user.full_name = "Still away"
    member_user.save()

    assert AuditEvent.objects.count() == before


# Actors in the audit log --------------------------------------------------------


def test_every_action_by_a_member_is_audited_with_the_member(workspace, admin_user):
    actor = actor_of(admin_user, workspace)
    token, _ = issue(admin_user, workspace)
    services.token_rename(actor=actor, token=token, name="renamed")
    new, _ = services.token_rotate(actor=actor, token=token, grace="1h")
    services.token_revoke(actor=actor, token=new)

    events = AuditEvent.objects.order_by("id")
    assert [e.action for e in events] == [
        "token.created",
        "token.renamed",
        "token.rotated",
        "token.created",
        "token.revoked",
    ]
    assert {(e.actor_user_id, e.actor_token_id, e.workspace_id) for e in events} == {
        (admin_user.pk, "", workspace.pk)
    }


def test_every_action_by_a_token_is_audited_with_the_token(workspace, admin_user, manager_user):
    _, caller_secret = issue(
        manager_user,
        workspace,
        name="caller",
        kind=TokenKind.PERSONAL,
        scopes=["tokens:read", "tokens:write"],
    )
    principal = authenticate_token(caller_secret)
    actor = Actor.token(principal)
    before = AuditEvent.objects.count()

    token, _ = services.token_create(
        actor=actor, workspace=workspace, name="made", scopes=["tokens:read"], kind="personal"
    )
    services.token_rename(actor=actor, token=token, name="renamed")
    new, _ = services.token_rotate(actor=actor, token=token)
    services.token_revoke(actor=actor, token=new)

    events = AuditEvent.objects.order_by("id")[before:]
    assert [e.action for e in events] == [
        "token.created",
        "token.renamed",
        "token.rotated",
        "token.created",
        "token.revoked",
    ]
    assert {(e.actor_token_id, e.actor_user_id, e.actor_label) for e in events} == {
        (principal.public_id, manager_user.pk, "token caller")
    }


def test_a_workspace_token_acts_with_manager_rules_capped_by_its_scopes(workspace, admin_user):
    _, caller_secret = issue(
        admin_user, workspace, name="caller", scopes=["tokens:read", "tokens:write"]
    )
    actor = Actor.token(authenticate_token(caller_secret))

    token, _ = services.token_create(
        actor=actor, workspace=workspace, name="made", scopes=["tokens:read"]
    )
    with pytest.raises(PermissionDenied):
        services.token_create(
            actor=actor,
            workspace=workspace,
            name="p",
            scopes=["tokens:read"],
            kind=TokenKind.PERSONAL,
        )

    event = AuditEvent.objects.filter(action="token.created").get(target_id=token.public_id)
    assert token.created_by is None
    assert event.actor_user is None
    assert event.actor_token_id == actor.principal.public_id


# Queries ------------------------------------------------------------------------


def test_token_for_hides_others_personal_tokens_and_other_workspaces(
    workspace, other_workspace, admin_user, member_user, outsider
):
    theirs, _ = issue(admin_user, workspace, kind=TokenKind.PERSONAL)
    shared, _ = issue(admin_user, workspace, name="shared")
    foreign, _ = issue(outsider, other_workspace, name="foreign")
    actor = actor_of(member_user, workspace)

    assert services.token_for(actor, workspace, shared.public_id) == shared
    for hidden in (theirs, foreign):
        with pytest.raises(Token.DoesNotExist):
            services.token_for(actor, workspace, hidden.public_id)
    assert set(services.tokens_visible_to(actor, workspace)) == {shared}
    assert set(services.tokens_visible_to(actor_of(admin_user, workspace), workspace)) == {
        theirs,
        shared,
    }


def test_workspace_policy_is_created_with_defaults(workspace):
    policy = services.workspace_policy(workspace)

    assert services.workspace_policy(workspace) == policy
    assert policy.never_expiring_allowed
    assert policy.members_may_create_personal
    assert policy.max_lifetime_days is None


def test_a_users_tokens_in_one_workspace_need_that_membership(workspace, other_workspace):
    user = make_member(other_workspace, "both@example.com", Role.ADMIN)
    Membership.objects.create(user=user, workspace=workspace, role=Role.MEMBER)

    with pytest.raises(ValidationError):
        issue(user, workspace, kind=TokenKind.PERSONAL, scopes=["tokens:write"])
    token, _ = issue(user, other_workspace, kind=TokenKind.PERSONAL, scopes=["tokens:write"])

    assert token.workspace == other_workspace


def test_the_policy_is_read_afresh_for_a_workspace_not_found_with_the_membership(
    workspace, admin_user
):
    """Django caches a policy on the Workspace it was created with; that copy can be old."""
    created = WorkspacePolicy.objects.create(workspace=workspace, max_lifetime_days=90)
    assert workspace.token_policy is created  # Django's cache, from the creation
    WorkspacePolicy.objects.filter(pk=created.pk).update(max_lifetime_days=30)

    assert services.workspace_policy(workspace).max_lifetime_days == 30


def test_the_policy_joined_with_the_membership_costs_no_query(
    workspace, admin_user, django_assert_num_queries
):
    WorkspacePolicy.objects.create(workspace=workspace, max_lifetime_days=30)
    membership = membership_for(admin_user, workspace.slug)

    with django_assert_num_queries(0):
        assert services.workspace_policy(membership.workspace).max_lifetime_days == 30
