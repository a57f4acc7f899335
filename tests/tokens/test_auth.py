"""authenticate_token: the order of checks, the query budget and the last-used writes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    connection,
    connections,
    transaction,
)
from django.db.models import QuerySet
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Membership
from accounts.roles import Role
from tests.factories import actor_of, issue
from tests.tokens.test_models import CASES, NOW
from tokens import auth, secrets, services
from tokens.auth import AuthenticationFailed, authenticate_token
from tokens.models import Resource, Token, TokenKind, TokenStatus

pytestmark = pytest.mark.django_db

INTERVAL = 60  # settings.KEYWARD_LAST_USED_INTERVAL_SECONDS


def reason(value: str, **kwargs) -> str:
    with pytest.raises(AuthenticationFailed) as failure:
        authenticate_token(value, **kwargs)
    return failure.value.reason


def updates(queries: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("UPDATE")
    ]


# The principal ------------------------------------------------------------------


def test_a_valid_workspace_token_gives_its_principal(workspace, admin_user):
    db = Resource.objects.create(workspace=workspace, name="db")
    app = Resource.objects.create(workspace=workspace, name="app")
    token, secret = issue(
        admin_user,
        workspace,
        name="deploy",
        scopes=["tokens:read", "workspace:read"],
        resource_ids=[db.pk, app.pk],
    )

    principal = authenticate_token(secret)

    assert principal.token_pk == token.pk
    assert principal.public_id == token.public_id
    assert principal.name == "deploy"
    assert principal.kind == TokenKind.WORKSPACE
    assert (principal.workspace_id, principal.workspace_slug, principal.workspace_name) == (
        workspace.pk,
        "acme",
        "Acme",
    )
    assert principal.owner_id is None
    assert principal.owner_role is None
    assert principal.scopes == frozenset({"tokens:read", "workspace:read"})
    assert principal.resources == ("app", "db")
    assert principal.expires_at is None


def test_a_personal_tokens_principal_carries_the_owners_current_role(workspace, manager_user):
    _, secret = issue(manager_user, workspace, kind=TokenKind.PERSONAL)

    principal = authenticate_token(secret)

    assert principal.owner_id == manager_user.pk
    assert principal.owner_role == Role.MANAGER
    assert principal.kind == TokenKind.PERSONAL


def test_the_principal_reports_the_expiry(workspace, admin_user, clock):
    expires_at = clock.now + timedelta(days=3)
    _, secret = issue(admin_user, workspace, expires_at=expires_at)

    assert authenticate_token(secret).expires_at == expires_at


# Query budget -------------------------------------------------------------------


def test_a_valid_token_costs_one_query_once_last_used_is_fresh(
    workspace, admin_user, django_assert_num_queries
):
    resource = Resource.objects.create(workspace=workspace, name="db")
    _, secret = issue(admin_user, workspace, resource_ids=[resource.pk])
    authenticate_token(secret)

    with django_assert_num_queries(1):
        principal = authenticate_token(secret)

    assert principal.resources == ("db",)


def test_a_personal_token_costs_one_query_too(workspace, member_user, django_assert_num_queries):
    _, secret = issue(member_user, workspace, kind=TokenKind.PERSONAL)
    authenticate_token(secret)

    with django_assert_num_queries(1):
        assert authenticate_token(secret).owner_role == Role.MEMBER


def test_the_first_use_costs_a_select_and_one_update(
    workspace, admin_user, django_assert_num_queries
):
    _, secret = issue(admin_user, workspace)

    with django_assert_num_queries(2) as queries:
        authenticate_token(secret)

    assert len(updates(queries)) == 1


def prepared_lookups() -> int:
    """Return how many prepared statements of this connection are the token lookup."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%WHERE t.digest = $1%"],
        )
        return cursor.fetchone()[0]


@pytest.fixture
def postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")


def test_on_postgresql_the_lookup_is_prepared_once_and_reused(
    postgresql, workspace, admin_user, django_assert_num_queries
):
    _, secret = issue(admin_user, workspace)
    authenticate_token(secret)

    with django_assert_num_queries(1):  # still one query, logged like any other
        authenticate_token(secret)

    assert prepared_lookups() == 1
    authenticate_token(secret)
    assert prepared_lookups() == 1


def test_the_prepared_lookup_can_be_turned_off_for_poolers(
    postgresql, settings, workspace, admin_user
):
    settings.KEYWARD_PREPARED_TOKEN_LOOKUP = False
    _, secret = issue(admin_user, workspace)

    authenticate_token(secret)
    authenticate_token(secret)

    assert prepared_lookups() == 0


def test_a_prepared_lookup_the_server_lost_is_prepared_again(
    transactional_db, postgresql, workspace, admin_user, caplog
):
    """What a pooler in transaction mode does: the next backend never saw our statement."""
    _, secret = issue(admin_user, workspace)
    authenticate_token(secret)
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements")
        (name,) = cursor.fetchone()
        cursor.execute(f'DEALLOCATE "{name}"')  # behind psycopg's back

    assert authenticate_token(secret).name == "ci"
    assert "KEYWARD_PREPARED_TOKEN_LOOKUP=0" in caplog.text
    assert authenticate_token(secret).name == "ci"  # prepared again, and reused
    assert prepared_lookups() == 1


def test_the_lookup_follows_a_reconnection(transactional_db, postgresql, workspace, admin_user):
    """Its prepared cursor is kept per connection: a new connection gets a new one."""
    _, secret = issue(admin_user, workspace)
    authenticate_token(secret)
    connection.close()  # what CONN_MAX_AGE and a failed health check do between requests

    assert authenticate_token(secret).name == "ci"
    assert authenticate_token(secret).name == "ci"
    assert prepared_lookups() == 1


def test_django_queries_stay_unprepared(postgresql, workspace, admin_user):
    """Only the lookup is prepared; Django's own queries keep working behind any pooler."""
    _, secret = issue(admin_user, workspace)
    authenticate_token(secret)

    for _ in range(10):
        Token.objects.filter(workspace=workspace).count()

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        assert cursor.fetchone()[0] == 1


# Unwatched, the lookup runs on the driver's cursor; watched, on Django's -----------


def test_the_lookup_answers_alike_whether_django_watches_queries_or_not(workspace, member_user):
    db = Resource.objects.create(workspace=workspace, name="db")
    _, secret = issue(
        member_user,
        workspace,
        kind=TokenKind.PERSONAL,
        scopes=["tokens:read", "workspace:read"],
        resource_ids=[db.pk],
        allowed_ips=["127.0.0.0/8"],
        expires_at=timezone.now() + timedelta(days=3),
    )
    authenticate_token(secret, client_ip="127.0.0.1")  # the first use writes last_used_at
    unwatched = authenticate_token(secret, client_ip="127.0.0.1")

    with CaptureQueriesContext(connection) as queries:
        logged = authenticate_token(secret, client_ip="127.0.0.1")
    with connection.execute_wrapper(lambda execute, *args: execute(*args)):
        wrapped = authenticate_token(secret, client_ip="127.0.0.1")

    assert unwatched == logged == wrapped
    assert unwatched.resources == ("db",)
    assert unwatched.expires_at is not None
    assert len(queries) == 1


def test_a_wrapper_watching_queries_sees_the_lookup(workspace, admin_user):
    """What query counters (bench/measure.py) and tracers rely on."""
    _, secret = issue(admin_user, workspace)
    authenticate_token(secret)
    seen = []

    def record(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        authenticate_token(secret)

    assert len(seen) == 1
    assert "t.digest" in seen[0]


def test_the_lookup_refuses_a_broken_transaction_like_any_query(workspace, admin_user):
    _, secret = issue(admin_user, workspace)
    authenticate_token(secret)  # last_used_at is written now, so only the lookup runs next

    with transaction.atomic():
        transaction.set_rollback(True)  # what a caught database error inside atomic() leaves
        with pytest.raises(TransactionManagementError):
            authenticate_token(secret)


def test_a_database_error_in_the_lookup_is_djangos(workspace, admin_user):
    """What the check's 503 and the API's database-down answer catch: Django's errors."""
    _, secret = issue(admin_user, workspace)
    authenticate_token(secret)
    with connection.cursor() as cursor:  # undone when the test's transaction rolls back
        cursor.execute(f"DROP TABLE {Token.resources.through._meta.db_table}")

    with pytest.raises(DatabaseError):
        authenticate_token(secret)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "garbage",
        "Bearer kww_",
        "kwx_" + "a" * 36,  # unknown kind
        "kww_" + "a" * 35,  # too short
        "kww_" + "-" * 36,  # outside base62
    ],
)
def test_a_malformed_token_costs_no_query(db, value, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert reason(value) == "malformed"


def test_a_token_with_a_wrong_checksum_costs_no_query(
    workspace, admin_user, django_assert_num_queries
):
    _, secret = issue(admin_user, workspace)
    typo = secret[:10] + ("A" if secret[10] != "A" else "B") + secret[11:]

    with django_assert_num_queries(0):
        assert reason(typo) == "malformed"


def test_a_well_formed_unknown_token_costs_one_query(db, django_assert_num_queries):
    value = secrets.generate("kw", "workspace")

    with django_assert_num_queries(1):
        assert reason(value) == "unknown"


# Failures -----------------------------------------------------------------------


def test_failures_name_the_token_only_when_it_is_known(workspace, admin_user):
    token, secret = issue(admin_user, workspace)
    services.token_revoke(actor=actor_of(admin_user, workspace), token=token)

    with pytest.raises(AuthenticationFailed) as revoked:
        authenticate_token(secret)
    with pytest.raises(AuthenticationFailed) as unknown:
        authenticate_token(secrets.generate("kw", "workspace"))

    assert revoked.value.token_id == token.public_id
    assert unknown.value.token_id is None


def test_revocation_is_immediate(workspace, admin_user):
    token, secret = issue(admin_user, workspace)
    assert authenticate_token(secret).public_id == token.public_id

    services.token_revoke(actor=actor_of(admin_user, workspace), token=token)

    assert reason(secret) == "revoked"


def test_a_revocation_written_by_anyone_is_seen_on_the_next_request(workspace, admin_user, clock):
    token, secret = issue(admin_user, workspace)
    authenticate_token(secret)

    Token.objects.filter(pk=token.pk).update(revoked_at=clock.now)

    assert reason(secret) == "revoked"


@pytest.mark.django_db(transaction=True)
def test_a_revocation_committed_on_another_connection_is_seen_at_once(workspace, admin_user):
    token, secret = issue(admin_user, workspace)
    assert authenticate_token(secret).public_id == token.public_id
    other = connections.create_connection(DEFAULT_DB_ALIAS)  # as another process would
    try:
        with other.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Token._meta.db_table} SET revoked_at = %s WHERE id = %s",  # noqa: S608
                [other.ops.adapt_datetimefield_value(timezone.now()), token.pk],
            )
    finally:
        # Django keeps an in-memory SQLite test database open on close(); really close it.
        other.connection.close()

    assert reason(secret) == "revoked"


def test_expiry_at_the_boundary(workspace, admin_user, clock):
    _, secret = issue(admin_user, workspace, expires_at=clock.now + timedelta(hours=1))

    clock.advance(minutes=59, seconds=59, microseconds=999_999)
    assert authenticate_token(secret).public_id
    clock.advance(microseconds=1)
    assert reason(secret) == "expired"


def test_a_scheduled_revocation_takes_effect_at_its_time(workspace, admin_user, clock):
    token, secret = issue(admin_user, workspace)
    Token.objects.filter(pk=token.pk).update(revoked_at=clock.now + timedelta(minutes=5))

    assert authenticate_token(secret).public_id == token.public_id
    clock.advance(minutes=5)
    assert reason(secret) == "revoked"


def test_the_lookup_applies_the_models_one_active_rule_on_every_case(workspace, admin_user, clock):
    clock.now = NOW
    secrets_by_case = {}
    for case, (expires_at, revoked_at, _) in CASES.items():
        token, secrets_by_case[case] = issue(admin_user, workspace, name=case)
        Token.objects.filter(pk=token.pk).update(expires_at=expires_at, revoked_at=revoked_at)

    for case, (_, _, status) in CASES.items():
        secret = secrets_by_case[case]
        if status == TokenStatus.ACTIVE:
            assert authenticate_token(secret, record_use=False).name == case
        else:
            assert reason(secret) == status, case
    active = {t.name for t in Token.objects.filter(workspace=workspace).active(NOW)}
    assert active == {case for case, (_, _, status) in CASES.items() if status == "active"}


def test_an_inactive_owners_token_fails(workspace, member_user):
    _, secret = issue(member_user, workspace, kind=TokenKind.PERSONAL)
    # Deactivating revokes the token; a raw write does not, and the lookup still refuses it.
    QuerySet.update(type(member_user).objects.filter(pk=member_user.pk), is_active=False)

    assert reason(secret) == "owner_inactive"


def test_a_token_whose_owner_left_the_workspace_fails_even_if_not_revoked(workspace, member_user):
    _, secret = issue(member_user, workspace, kind=TokenKind.PERSONAL)
    # Deleting the row skips the signal that revokes the tokens; auth must still refuse.
    Membership.objects.filter(user=member_user, workspace=workspace).delete()

    assert reason(secret) == "owner_not_member"


def test_a_workspace_token_does_not_depend_on_its_creator(workspace, admin_user, manager_user):
    _, secret = issue(manager_user, workspace)
    manager_user.is_active = False
    manager_user.save(update_fields=["is_active"])
    Membership.objects.filter(user=manager_user).delete()

    assert authenticate_token(secret).kind == TokenKind.WORKSPACE


@pytest.mark.parametrize(
    ("client_ip", "allowed"),
    [
        ("10.0.0.1", True),
        ("10.255.255.255", True),
        ("203.0.113.9", True),
        ("2001:db8::1", True),
        ("2001:db8:ffff::42", True),
        ("11.0.0.1", False),
        ("203.0.113.10", False),
        ("2001:db9::1", False),
        ("::ffff:10.0.0.1", True),  # an IPv4 client seen through a dual-stack socket
        ("::ffff:11.0.0.1", False),
        ("not-an-ip", False),
        (None, False),
    ],
)
def test_client_ip_must_be_in_the_allowed_ranges(workspace, admin_user, client_ip, allowed):
    _, secret = issue(
        admin_user, workspace, allowed_ips=["10.0.0.0/8", "203.0.113.9", "2001:db8::/32"]
    )

    if allowed:
        assert authenticate_token(secret, client_ip=client_ip).public_id
    else:
        assert reason(secret, client_ip=client_ip) == "ip_not_allowed"


def test_without_ranges_any_client_ip_is_allowed(workspace, admin_user):
    _, secret = issue(admin_user, workspace)

    assert authenticate_token(secret, client_ip="198.51.100.1").public_id
    assert authenticate_token(secret, client_ip=None).public_id


def test_the_ip_check_can_be_skipped_for_introspection(workspace, admin_user):
    _, secret = issue(admin_user, workspace, allowed_ips=["10.0.0.0/8"])

    assert authenticate_token(secret, client_ip="192.0.2.1", check_ip=False).public_id


def test_a_failed_ip_check_records_no_use(workspace, admin_user):
    token, secret = issue(admin_user, workspace, allowed_ips=["10.0.0.0/8"])

    reason(secret, client_ip="192.0.2.1")

    token.refresh_from_db()
    assert token.last_used_at is None


# last_used ----------------------------------------------------------------------


def test_last_used_is_recorded_with_ip_and_agent(workspace, admin_user, clock):
    token, secret = issue(admin_user, workspace)

    authenticate_token(secret, client_ip="192.0.2.7", user_agent="curl/8.0 " + "x" * 300)

    token.refresh_from_db()
    assert token.last_used_at == clock.now
    assert token.last_used_ip == "192.0.2.7"
    assert token.last_used_user_agent.startswith("curl/8.0")
    assert len(token.last_used_user_agent) == 255


def test_last_used_is_written_at_most_once_per_interval(workspace, admin_user, clock):
    token, secret = issue(admin_user, workspace)
    first_use = clock.now

    with CaptureQueriesContext(connection) as queries:
        for _ in range(50):
            authenticate_token(secret, client_ip="192.0.2.1")
            clock.advance(seconds=1)
    assert len(updates(queries)) == 1
    assert len(queries.captured_queries) == 51

    clock.now = first_use + timedelta(seconds=INTERVAL)
    with CaptureQueriesContext(connection) as queries:
        authenticate_token(secret, client_ip="192.0.2.2")
        authenticate_token(secret, client_ip="192.0.2.3")
    assert len(updates(queries)) == 1

    token.refresh_from_db()
    assert token.last_used_at == first_use + timedelta(seconds=INTERVAL)
    assert token.last_used_ip == "192.0.2.2"


def test_record_use_false_writes_nothing(workspace, admin_user, django_assert_num_queries):
    token, secret = issue(admin_user, workspace)

    with django_assert_num_queries(1):
        authenticate_token(secret, record_use=False)

    token.refresh_from_db()
    assert token.last_used_at is None


def test_the_update_is_conditional_so_a_stale_read_does_not_write(workspace, admin_user, clock):
    token, _ = issue(admin_user, workspace)
    Token.objects.filter(pk=token.pk).update(last_used_at=clock.now, last_used_ip="192.0.2.1")

    # As a process that read the row before another one recorded its use would call it:
    auth._record_use(token.pk, None, clock.now, "192.0.2.99", "late")

    token.refresh_from_db()
    assert token.last_used_ip == "192.0.2.1"


# Two tokens in one lookup (introspection: the caller's and the subject's) ---------


def test_a_pair_is_found_in_one_query_and_each_checked_as_alone(
    workspace, admin_user, member_user, django_assert_num_queries
):
    db = Resource.objects.create(workspace=workspace, name="db")
    _, caller_secret = issue(admin_user, workspace, name="caller")
    _, subject_secret = issue(
        member_user,
        workspace,
        kind=TokenKind.PERSONAL,
        name="subject",
        resource_ids=[db.pk],
        allowed_ips=["10.0.0.0/8"],  # introspection checks no address
    )
    authenticate_token(caller_secret)  # the caller's first use is written

    with django_assert_num_queries(1) as queries:
        principal, found = auth.authenticate_pair(
            caller_secret, subject_secret, client_ip="192.0.2.1"
        )

    assert " IN (" in queries.captured_queries[0]["sql"]
    assert principal == authenticate_token(caller_secret, record_use=False)
    assert found == authenticate_token(subject_secret, check_ip=False, record_use=False)
    assert found.resources == ("db",)
    assert found.owner_role == Role.MEMBER


def test_a_pair_records_the_callers_use_only(workspace, admin_user, clock):
    caller, caller_secret = issue(admin_user, workspace, name="caller")
    subject, subject_secret = issue(admin_user, workspace, name="subject")

    auth.authenticate_pair(caller_secret, subject_secret, client_ip="192.0.2.7", user_agent="a")

    caller.refresh_from_db()
    subject.refresh_from_db()
    assert caller.last_used_at == clock.now
    assert caller.last_used_ip == "192.0.2.7"
    assert subject.last_used_at is None


@pytest.mark.parametrize(
    ("case", "expected"),
    [("revoked", "revoked"), ("unknown", "unknown"), ("malformed", "malformed")],
)
def test_a_pairs_subject_failure_is_returned_not_raised(workspace, admin_user, case, expected):
    _, caller_secret = issue(admin_user, workspace, name="caller")
    token, value = issue(admin_user, workspace, name="subject")
    if case == "revoked":
        services.token_revoke(actor=actor_of(admin_user, workspace), token=token)
    elif case == "unknown":
        value = secrets.generate("kw", "workspace")
    else:
        value = "kww_garbage"

    principal, found = auth.authenticate_pair(caller_secret, value)

    assert principal.name == "caller"
    assert isinstance(found, AuthenticationFailed)
    assert found.reason == expected
    assert found.token_id == (token.public_id if case == "revoked" else None)


def test_a_pairs_caller_is_checked_as_alone(workspace, admin_user):
    caller, caller_secret = issue(admin_user, workspace, name="caller", allowed_ips=["10.0.0.0/8"])
    _, subject_secret = issue(admin_user, workspace, name="subject")
    unknown = secrets.generate("kw", "workspace")

    for value, client_ip, expected in [
        ("kww_garbage", "10.0.0.1", "malformed"),
        (unknown, "10.0.0.1", "unknown"),
        (caller_secret, "192.0.2.1", "ip_not_allowed"),
    ]:
        with pytest.raises(AuthenticationFailed) as failure:
            auth.authenticate_pair(value, subject_secret, client_ip=client_ip)
        assert failure.value.reason == expected

    caller.refresh_from_db()
    assert caller.last_used_at is None


def test_a_malformed_subject_costs_no_more_than_the_callers_lookup(
    workspace, admin_user, django_assert_num_queries
):
    _, caller_secret = issue(admin_user, workspace)
    authenticate_token(caller_secret)

    with django_assert_num_queries(1) as queries:
        auth.authenticate_pair(caller_secret, "kww_garbage")

    assert " IN (" not in queries.captured_queries[0]["sql"]


def test_the_callers_own_token_as_subject_is_one_row(
    workspace, admin_user, django_assert_num_queries
):
    _, secret = issue(admin_user, workspace)
    authenticate_token(secret)

    with django_assert_num_queries(1) as queries:
        principal, found = auth.authenticate_pair(secret, secret)

    assert found is principal
    assert " IN (" not in queries.captured_queries[0]["sql"]


def test_the_single_lookups_statement_is_unchanged():
    """whoami and the gateway check keep their statement (its text is their prepared plan)."""
    sql = auth._lookup_sql("sqlite")

    assert sql.startswith("SELECT t.id, t.public_id,")
    assert sql.endswith("WHERE t.digest = %(digest)s")
    assert auth._lookup_sql("sqlite", pair=True).startswith("SELECT t.digest, t.id, t.public_id,")


def test_a_pair_is_found_alike_whether_django_watches_queries_or_not(workspace, admin_user):
    _, caller_secret = issue(admin_user, workspace, name="caller")
    _, subject_secret = issue(admin_user, workspace, name="subject", allowed_ips=["10.0.0.0/8"])
    authenticate_token(caller_secret)
    unwatched = auth.authenticate_pair(caller_secret, subject_secret)
    seen = []

    def record(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with CaptureQueriesContext(connection) as queries:
        logged = auth.authenticate_pair(caller_secret, subject_secret)
    with connection.execute_wrapper(record):
        wrapped = auth.authenticate_pair(caller_secret, subject_secret)

    assert unwatched == logged == wrapped
    assert unwatched[1].name == "subject"
    assert len(queries) == len(seen) == 1


def test_on_postgresql_the_pair_lookup_is_prepared_and_reused(postgresql, workspace, admin_user):
    _, caller_secret = issue(admin_user, workspace, name="caller")
    _, subject_secret = issue(admin_user, workspace, name="subject")

    for _ in range(3):
        assert auth.authenticate_pair(caller_secret, subject_secret)[1].name == "subject"

    assert prepared_pair_lookups() == 1


def test_a_prepared_pair_lookup_the_server_lost_is_prepared_again(
    transactional_db, postgresql, workspace, admin_user, caplog
):
    _, caller_secret = issue(admin_user, workspace, name="caller")
    _, subject_secret = issue(admin_user, workspace, name="subject")
    auth.authenticate_pair(caller_secret, subject_secret)
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements")
        (name,) = cursor.fetchone()
        cursor.execute(f'DEALLOCATE "{name}"')  # behind psycopg's back

    assert auth.authenticate_pair(caller_secret, subject_secret)[1].name == "subject"
    assert "KEYWARD_PREPARED_TOKEN_LOOKUP=0" in caplog.text
    assert auth.authenticate_pair(caller_secret, subject_secret)[1].name == "subject"
    assert prepared_pair_lookups() == 1


def prepared_pair_lookups() -> int:
    """Return how many prepared statements of this connection are the pair lookup."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%WHERE t.digest IN ($1, $2)%"],
        )
        return cursor.fetchone()[0]
