"""The token models: database constraints, status and the status querysets."""

from __future__ import annotations

import re
from datetime import timedelta
from itertools import count

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from tokens import secrets
from tokens.models import Token, TokenKind, TokenStatus, WorkspacePolicy

pytestmark = pytest.mark.django_db

_serial = count()


def make_token(workspace, *, name=None, kind=TokenKind.WORKSPACE, owner=None, **fields) -> Token:
    """Insert a token row directly, as the service would, without the service's checks."""
    value = secrets.generate("kw", kind)
    return Token.objects.create(
        workspace=workspace,
        kind=kind,
        owner=owner,
        name=name or f"token-{next(_serial)}",
        prefix=secrets.kind_prefix("kw", kind),
        digest=secrets.digest(value),
        last_four=secrets.last_four(value),
        scopes=["tokens:read"],
        **fields,
    )


def raises_integrity_error(**kwargs):
    with pytest.raises(IntegrityError), transaction.atomic():
        make_token(**kwargs)


# Constraints --------------------------------------------------------------------


def test_two_active_tokens_cannot_share_a_name_in_a_workspace(workspace):
    make_token(workspace, name="ci")

    raises_integrity_error(workspace=workspace, name="ci")


def test_the_same_name_is_free_in_another_workspace(workspace, other_workspace):
    make_token(workspace, name="ci")

    assert make_token(other_workspace, name="ci").pk


def test_a_revoked_token_frees_its_name(workspace):
    make_token(workspace, name="ci", revoked_at=timezone.now())

    assert make_token(workspace, name="ci").pk


def test_a_token_in_its_rotation_grace_frees_its_name_for_its_successor(workspace):
    make_token(workspace, name="ci", revoked_at=timezone.now() + timedelta(hours=1))

    assert make_token(workspace, name="ci").pk


def test_a_workspace_token_cannot_have_an_owner(workspace, admin_user):
    raises_integrity_error(workspace=workspace, kind=TokenKind.WORKSPACE, owner=admin_user)


def test_a_personal_token_must_have_an_owner(workspace):
    raises_integrity_error(workspace=workspace, kind=TokenKind.PERSONAL, owner=None)


def test_the_kind_must_be_known(workspace):
    with pytest.raises(IntegrityError), transaction.atomic():
        Token.objects.create(
            workspace=workspace,
            kind="robot",
            name="x",
            prefix="kwr_",
            digest="0" * 64,
            last_four="abcd",
        )


def test_digests_are_unique(workspace):
    token = make_token(workspace)

    with pytest.raises(IntegrityError), transaction.atomic():
        Token.objects.create(
            workspace=workspace,
            kind=TokenKind.WORKSPACE,
            name="other",
            prefix="kww_",
            digest=token.digest,
            last_four="abcd",
        )


def test_a_policy_lifetime_must_be_positive(workspace):
    with pytest.raises(IntegrityError), transaction.atomic():
        WorkspacePolicy.objects.create(workspace=workspace, max_lifetime_days=0)


def test_public_ids_are_random_and_not_secret_looking(workspace):
    first, second = make_token(workspace), make_token(workspace)

    assert re.fullmatch(r"tok_[0-9A-Za-z]{16}", first.public_id)
    assert first.public_id != second.public_id


def test_censored_shows_prefix_and_last_four(workspace):
    token = make_token(workspace)

    assert token.censored == f"kww_…{token.last_four}"


# Status -------------------------------------------------------------------------

NOW = timezone.now()
HOUR = timedelta(hours=1)

CASES = {
    # name: (expires_at, revoked_at, status at NOW)
    "no end": (None, None, TokenStatus.ACTIVE),
    "expires later": (NOW + HOUR, None, TokenStatus.ACTIVE),
    "in rotation grace": (None, NOW + HOUR, TokenStatus.ACTIVE),
    "grace ends before expiry": (NOW + 2 * HOUR, NOW + HOUR, TokenStatus.ACTIVE),
    "expired": (NOW - HOUR, None, TokenStatus.EXPIRED),
    "expires exactly now": (NOW, None, TokenStatus.EXPIRED),
    "revoked": (None, NOW - HOUR, TokenStatus.REVOKED),
    "revoked exactly now": (None, NOW, TokenStatus.REVOKED),
    "revoked then expired": (NOW - HOUR, NOW - 2 * HOUR, TokenStatus.REVOKED),
    "revoked before it would expire": (NOW + HOUR, NOW - HOUR, TokenStatus.REVOKED),
    "expired then revoked": (NOW - 2 * HOUR, NOW - HOUR, TokenStatus.EXPIRED),
    "retired the moment it expired": (NOW - HOUR, NOW - HOUR, TokenStatus.EXPIRED),
    "expired during grace": (NOW - HOUR, NOW + HOUR, TokenStatus.EXPIRED),
}


@pytest.mark.parametrize("case", CASES)
def test_status(workspace, case):
    expires_at, revoked_at, expected = CASES[case]
    token = make_token(workspace, expires_at=expires_at, revoked_at=revoked_at)

    assert token.status(NOW) == expected


def test_status_queryset_methods_agree_with_status(workspace):
    tokens = {
        case: make_token(workspace, name=case, expires_at=expires_at, revoked_at=revoked_at)
        for case, (expires_at, revoked_at, _) in CASES.items()
    }

    for status in TokenStatus.values:
        expected = {case for case, (_, _, wanted) in CASES.items() if wanted == status}
        found = set(Token.objects.with_status(status, NOW).values_list("name", flat=True))
        assert found == expected, status
    assert Token.objects.active(NOW).count() + Token.objects.expired(NOW).count() + (
        Token.objects.revoked(NOW).count()
    ) == len(tokens)


def test_in_grace_is_one_rule_in_python_and_sql(workspace):
    for case, (expires_at, revoked_at, _) in CASES.items():
        make_token(workspace, name=case, expires_at=expires_at, revoked_at=revoked_at)
    expected = {"in rotation grace", "grace ends before expiry"}

    in_grace = {token.name for token in Token.objects.all() if token.in_grace(NOW)}
    active = set(Token.objects.active(NOW).values_list("name", flat=True))
    lasting = set(Token.objects.active_not_in_grace(NOW).values_list("name", flat=True))
    assert in_grace == expected
    assert lasting == active - expected


def test_with_status_all_returns_every_token(workspace):
    for case, (expires_at, revoked_at, _) in CASES.items():
        make_token(workspace, name=case, expires_at=expires_at, revoked_at=revoked_at)

    assert Token.objects.with_status("all", NOW).count() == len(CASES)


def test_a_token_in_grace_stops_being_active_when_grace_ends(workspace):
    token = make_token(workspace, revoked_at=NOW + HOUR)

    assert Token.objects.active(NOW).filter(pk=token.pk).exists()
    assert not Token.objects.active(NOW + HOUR).filter(pk=token.pk).exists()
    assert Token.objects.revoked(NOW + HOUR).filter(pk=token.pk).exists()
    assert token.status(NOW + HOUR) == TokenStatus.REVOKED


def test_is_active_and_ends_at(workspace):
    in_grace = make_token(
        workspace, expires_at=timezone.now() + 2 * HOUR, revoked_at=timezone.now() + HOUR
    )
    expired = make_token(workspace, expires_at=timezone.now() - HOUR)

    assert in_grace.is_active
    assert in_grace.ends_at == in_grace.revoked_at
    assert not expired.is_active
    assert make_token(workspace).ends_at is None


def test_visible_to_a_member_is_workspace_tokens_and_their_own(
    workspace, other_workspace, member_user, manager_user
):
    shared = make_token(workspace)
    mine = make_token(workspace, kind=TokenKind.PERSONAL, owner=member_user)
    theirs = make_token(workspace, kind=TokenKind.PERSONAL, owner=manager_user)
    make_token(other_workspace)

    as_member = Token.objects.visible_to(
        workspace_id=workspace.pk, user_id=member_user.pk, sees_all=False
    )
    as_manager = Token.objects.visible_to(
        workspace_id=workspace.pk, user_id=manager_user.pk, sees_all=True
    )

    assert set(as_member) == {shared, mine}
    assert set(as_manager) == {shared, mine, theirs}


def test_erase_copies_erases_only_the_selected_stored_copies(workspace):
    kept = make_token(workspace, encrypted_secret="ciphertext-a")
    erased = make_token(workspace, encrypted_secret="ciphertext-b", expires_at=timezone.now())
    make_token(workspace)  # no copy: not counted

    assert Token.objects.ended().erase_copies() == 1
    assert list(Token.objects.with_stored_copy()) == [kept]
    erased.refresh_from_db()
    assert erased.encrypted_secret == ""


def test_every_door_reads_the_models_length_limits_and_grace_choices():
    from tokens.api import api
    from tokens.forms import TokenCreateForm, TokenRenameForm, TokenRotateForm
    from tokens.models import RotationGrace
    from tokens.services import GRACE_PERIODS

    name, description = (Token._meta.get_field(f).max_length for f in ("name", "description"))
    schemas = api.get_openapi_schema()["components"]["schemas"]

    for form in (TokenCreateForm, TokenRenameForm):
        assert form.base_fields["name"].max_length == name
        assert form.base_fields["description"].max_length == description
    for schema in ("TokenCreateIn", "TokenUpdateIn"):
        properties = schemas[schema]["properties"]
        assert name in {
            p.get("maxLength") for p in [properties["name"], *properties["name"].get("anyOf", [])]
        }
        assert description in {
            p.get("maxLength")
            for p in [properties["description"], *properties["description"].get("anyOf", [])]
        }
    assert [value for value, _ in TokenRotateForm.base_fields["grace"].choices] == list(
        GRACE_PERIODS
    )
    assert list(GRACE_PERIODS) == RotationGrace.values
