"""A token's limits set while its workspace's ceilings are being saved (PostgreSQL only):
the writer waits for the ceilings and obeys them, never a 500 nor a token above them."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models.signals import pre_save

from gateway.limit_models import TokenLimits
from gateway.limit_policy_services import set_limit_policy
from gateway.limit_services import Quota, token_limits_set
from tests.factories import actor_of, issue
from tests.row_locks import WAIT, race, waiting_on_a_lock
from tokens import services
from tokens.actors import Actor
from tokens.auth import authenticate_token
from tokens.models import Token


@pytest.mark.django_db(transaction=True)
def test_limits_set_while_a_ceiling_is_saved_wait_for_it_and_obey_it(
    admin_user, manager_user, workspace
):
    if connection.vendor != "postgresql":
        pytest.skip("row locks between sessions need PostgreSQL (scripts/with-postgres.sh)")
    token, _ = issue(manager_user, workspace, "sync")
    ceiling_saved, commit = threading.Event(), threading.Event()
    outcome: dict = {}

    def admin_saves_a_ceiling():
        try:
            with transaction.atomic():
                set_limit_policy(
                    actor=actor_of(admin_user, workspace), workspace=workspace, max_quota=100
                )
                ceiling_saved.set()
                commit.wait(WAIT)
        finally:
            connection.close()

    def manager_sets_a_quota():
        try:
            token_limits_set(
                actor=actor_of(manager_user, workspace),
                token=token,
                rate=None,
                quota=Quota(1000, "month"),
            )
            outcome["set"] = True
        except ValidationError as error:
            outcome["refused"] = error
        except Exception as error:  # what the test is about: reported below
            outcome["error"] = error
        finally:
            connection.close()

    admin = threading.Thread(target=admin_saves_a_ceiling)
    admin.start()
    assert ceiling_saved.wait(WAIT)
    manager = threading.Thread(target=manager_sets_a_quota)
    manager.start()
    # Until the manager's request waits for a lock the admin's transaction holds.
    for _ in range(WAIT * 100):
        if waiting_on_a_lock():
            break
        threading.Event().wait(0.01)
    commit.set()
    admin.join(WAIT)
    manager.join(WAIT)

    assert "error" not in outcome, outcome.get("error")
    assert "refused" in outcome
    assert TokenLimits.objects.get(token=token).quota == 100


def _in_threads(first, second) -> None:
    """Race `first` and `second` (tests.row_locks.race): neither fails, the second waits."""
    errors, waited = race(first, second)
    assert errors == []
    assert waited, "the second writer should have waited for the first"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("first", ["ceiling", "token"])
def test_a_token_issued_while_a_ceiling_is_saved_ends_within_it(
    admin_user, manager_user, workspace, first
):
    """Whichever comes first, the new token is held to the ceiling: issued after, it gets
    it as its limit; issued before, the ceiling's save waits for it and caps it."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks between sessions need PostgreSQL (scripts/with-postgres.sh)")
    issued: list = []

    def save_ceiling(holding=None, commit=None):
        with transaction.atomic():
            set_limit_policy(
                actor=actor_of(admin_user, workspace), workspace=workspace, max_quota=100
            )
            if holding:
                holding.set()
                commit.wait(WAIT)

    def issue_token(holding=None, commit=None):
        with transaction.atomic():
            issued.append(issue(manager_user, workspace, "new")[0])
            if holding:
                holding.set()
                commit.wait(WAIT)

    if first == "ceiling":
        _in_threads(save_ceiling, issue_token)
    else:
        _in_threads(issue_token, save_ceiling)
    (token,) = issued
    assert TokenLimits.objects.get(token=token).quota == 100


@pytest.mark.django_db(transaction=True)
def test_a_token_made_by_a_token_while_a_ceiling_caps_its_maker_does_not_deadlock(
    admin_user, workspace
):
    """The issuer locks the maker token; the ceiling's save caps that same maker. Both lock
    the workspace's row first, so the save waits for the issuer instead of deadlocking."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks between sessions need PostgreSQL (scripts/with-postgres.sh)")
    _, secret = issue(admin_user, workspace, "maker", scopes=["tokens:read", "tokens:write"])
    maker = Actor.token(authenticate_token(secret))
    issued: list = []

    def issue_token(holding, commit):
        issuer = threading.current_thread()

        def pause_before_the_insert(sender, instance, **kwargs):
            # The issuer holds its first locks (the maker's among them) and has not yet
            # inserted the token: the ceiling's save is let in here.
            if threading.current_thread() is issuer and instance.pk is None:
                holding.set()
                commit.wait(WAIT)

        pre_save.connect(pause_before_the_insert, sender=Token, weak=False)
        try:
            token, _ = services.token_create(
                actor=maker, workspace=workspace, name="made", scopes=["tokens:read"]
            )
        finally:
            pre_save.disconnect(pause_before_the_insert, sender=Token)
        issued.append(token)

    def save_ceiling():
        set_limit_policy(actor=actor_of(admin_user, workspace), workspace=workspace, max_quota=100)

    _in_threads(issue_token, save_ceiling)
    (token,) = issued
    assert TokenLimits.objects.get(token=token).quota == 100
    assert TokenLimits.objects.get(token__name="maker").quota == 100
