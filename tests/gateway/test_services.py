"""Making a resource an HTTP service: field errors, overlaps, permissions, audit, versions."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts.models import AuditEvent
from gateway import services
from gateway.decision import decide
from gateway.models import Service, ServiceRule, ServiceVersion
from tests.factories import actor_of, issue
from tokens.auth import authenticate_token
from tokens.models import Token
from tokens.services import token_revoke, token_rotate
from tokens.services.resources import resource_create, resource_delete, resource_rename


def _version(workspace) -> int:
    return ServiceVersion.objects.get(workspace=workspace).version


@pytest.fixture
def label(admin_actor, workspace):
    return resource_create(actor=admin_actor, workspace=workspace, name="Metrics API")


def test_a_service_gets_default_method_scopes_and_a_slug_from_its_resource(admin_actor, label):
    service = services.service_create(
        actor=admin_actor, resource=label, rules=[{"host": "Metrics.Example.com"}]
    )
    assert service.slug == "metrics-api"
    assert service.method_scopes == {"GET": "read", "HEAD": "read", "OPTIONS": "read"}
    assert [str(rule) for rule in service.rules.all()] == ["metrics.example.com/"]
    event = AuditEvent.objects.get(action="service.created")
    assert event.details["rules"] == ["metrics.example.com/"]


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"rules": []}, "rules", "required"),
        ({"rules": [("bad host", "/")]}, "rules", "invalid_rule"),
        ({"rules": [("a.example.com", "api")]}, "rules", "invalid_rule"),
        ({"rules": [("a.example.com", "/x/../y")]}, "rules", "invalid_rule"),
        ({"rules": [("a.example.com", "/x"), ("A.example.com", "/x/")]}, "rules", "duplicate_rule"),
        ({"rules": [("a.example.com", "/")] * 51}, "rules", "duplicate_rule"),
        ({"slug": "Not a slug!"}, "slug", "invalid_slug"),
        ({"method_scopes": {"get": "read"}}, "method_scopes", "invalid_method"),
        ({"method_scopes": {"POST": "admin"}}, "method_scopes", "invalid_level"),
        ({"method_scopes": ["GET"]}, "method_scopes", "invalid_methods"),
    ],
)
def test_bad_input_gets_a_field_error_and_changes_nothing(admin_actor, label, fields, field, code):
    arguments = {"rules": [("a.example.com", "/")], **fields}
    with pytest.raises(ValidationError) as raised:
        services.service_create(actor=admin_actor, resource=label, **arguments)
    assert field in raised.value.message_dict
    assert raised.value.error_dict[field][0].code == code
    assert not Service.objects.exists()


def test_too_many_rules_are_refused(admin_actor, label):
    rules = [(f"h{i}.example.com", "/") for i in range(services.MAX_RULES + 1)]
    with pytest.raises(ValidationError) as raised:
        services.service_create(actor=admin_actor, resource=label, rules=rules)
    assert raised.value.error_dict["rules"][0].code == "too_many"


def test_two_services_may_not_guard_the_same_host_and_prefix(admin_actor, label, billing):
    with pytest.raises(ValidationError) as raised:
        services.service_create(
            actor=admin_actor, resource=label, rules=[("API.example.com", "/Billing/")]
        )
    assert raised.value.error_dict["rules"][0].code == "overlapping_service"
    assert "api.example.com/billing (billing)" in raised.value.messages[0]
    # A longer prefix under another service's is no overlap: the longest prefix wins.
    services.service_create(
        actor=admin_actor, resource=label, rules=[("api.example.com", "/billing/metrics")]
    )


def test_another_workspace_may_guard_the_same_host(billing, outsider, other_workspace):
    actor = actor_of(outsider, other_workspace)
    resource = resource_create(actor=actor, workspace=other_workspace, name="Billing")
    services.service_create(actor=actor, resource=resource, rules=[("api.example.com", "/billing")])


def test_slugs_are_unique_in_a_workspace(admin_actor, label, billing):
    with pytest.raises(ValidationError) as raised:
        services.service_create(
            actor=admin_actor, resource=label, slug="billing", rules=[("m.example.com", "/")]
        )
    assert raised.value.error_dict["slug"][0].code == "duplicate_slug"


def test_a_resource_is_one_service_at_most(admin_actor, billing):
    with pytest.raises(ValidationError) as raised:
        services.service_create(
            actor=admin_actor, resource=billing.resource, rules=[("m.example.com", "/")]
        )
    assert raised.value.error_dict["resource"][0].code == "already_service"


def test_members_may_not_change_services(member_user, workspace, billing, label):
    actor = actor_of(member_user, workspace)
    with pytest.raises(PermissionDenied):
        services.service_create(actor=actor, resource=label, rules=[("m.example.com", "/")])
    with pytest.raises(PermissionDenied):
        services.service_update(actor=actor, service=billing, rules=[("m.example.com", "/")])
    with pytest.raises(PermissionDenied):
        services.service_delete(actor=actor, service=billing)


def test_every_change_gives_the_workspace_a_new_version(admin_actor, workspace, billing):
    seen = {_version(workspace)}
    services.service_update(actor=admin_actor, service=billing, rules=[("x.example.com", "/")])
    seen.add(_version(workspace))
    services.service_update(actor=admin_actor, service=billing, method_scopes={"POST": "read"})
    seen.add(_version(workspace))
    resource_rename(actor=admin_actor, resource=billing.resource, name="Invoices")
    seen.add(_version(workspace))
    services.service_delete(actor=admin_actor, service=billing)
    seen.add(_version(workspace))
    assert len(seen) == 5
    assert billing.resource.__class__.objects.filter(name="Invoices").exists()  # still a label
    assert not ServiceRule.objects.exists()


def test_deleting_the_resource_deletes_its_service_and_changes_the_version(
    admin_actor, workspace, billing
):
    before = _version(workspace)
    resource_delete(actor=admin_actor, resource=billing.resource)
    assert not Service.objects.exists()
    assert _version(workspace) != before


def test_updating_keeps_what_is_not_given(admin_actor, billing):
    services.service_update(actor=admin_actor, service=billing, slug="invoices")
    billing.refresh_from_db()
    assert billing.slug == "invoices"
    assert billing.rules.count() == 2
    assert AuditEvent.objects.get(action="service.updated").details["slug_from"] == "billing"


# A service's scopes on tokens: withdrawn when its slug stops naming it -------------------


def _scopes(token) -> list[str]:
    token.refresh_from_db()
    return token.scopes


def _removed(token) -> list[dict]:
    events = AuditEvent.objects.filter(action="token.scopes_removed", target_id=token.public_id)
    return [event.details for event in events]


def _guard_again(admin_actor, workspace, slug: str = "billing"):
    resource = resource_create(actor=admin_actor, workspace=workspace, name="New billing")
    return services.service_create(
        actor=admin_actor, resource=resource, slug=slug, rules=[("new.example.com", "/")]
    )


def _allowed(secret: str, host: str = "new.example.com") -> bool:
    principal = authenticate_token(secret, record_use=False)
    return decide(principal, method="GET", host=host, path="/").allowed


def test_stopping_a_service_takes_its_scopes_from_every_token_and_audits_each(
    admin_actor, admin_user, workspace, billing
):
    both, _ = issue(admin_user, workspace, "both", scopes=["tokens:read", "billing:write"])
    ended, _ = issue(admin_user, workspace, "ended", scopes=["billing:read"])
    token_revoke(actor=admin_actor, token=ended)
    other, _ = issue(admin_user, workspace, "other", scopes=["tokens:read"])

    lost = services.service_delete(actor=admin_actor, service=billing)

    assert {token.name for token in lost} == {"both", "ended"}
    assert (_scopes(both), _scopes(ended), _scopes(other)) == (
        ["tokens:read"],
        [],
        ["tokens:read"],
    )
    assert _removed(both) == [
        {
            "name": "both",
            "kind": "workspace",
            "scopes": ["billing:write"],
            "service": "billing",
            "reason": "service_deleted",
        }
    ]
    assert _removed(other) == []
    deleted = AuditEvent.objects.get(action="service.deleted")
    assert sorted(deleted.details["scopes_removed_from"]) == sorted(
        [both.public_id, ended.public_id]
    )


def test_a_new_service_with_the_same_slug_does_not_open_to_the_old_tokens(
    admin_actor, admin_user, workspace, billing, reader
):
    services.service_delete(actor=admin_actor, service=billing)
    _guard_again(admin_actor, workspace)
    assert not _allowed(reader)
    fresh = issue(admin_user, workspace, "fresh", scopes=["billing:read"])[1]
    assert _allowed(fresh)


def test_a_stopped_service_is_undone_with_its_withdrawn_scopes(
    admin_actor, admin_user, workspace, billing
):
    token, _ = issue(admin_user, workspace, "reader", scopes=["billing:read"])
    with pytest.raises(RuntimeError), transaction.atomic():
        services.service_delete(actor=admin_actor, service=billing)
        assert _scopes(token) == []
        raise RuntimeError("the request failed after the deletion")
    assert _scopes(token) == ["billing:read"]
    assert Service.objects.filter(slug="billing").exists()


def test_deleting_the_resource_withdraws_its_services_scopes(
    admin_actor, admin_user, workspace, billing
):
    token, _ = issue(admin_user, workspace, "reader", scopes=["billing:read", "tokens:read"])
    resource_delete(actor=admin_actor, resource=billing.resource)
    assert _scopes(token) == ["tokens:read"]
    assert _removed(token)[0]["reason"] == "resource_deleted"
    event = AuditEvent.objects.get(action="token.scopes_removed")
    assert event.actor_label == admin_actor.label  # the person who deleted it, not the system


def test_a_new_service_withdraws_scopes_left_from_before(
    admin_actor, admin_user, workspace, billing
):
    token, _ = issue(admin_user, workspace, "reader", scopes=["billing:read"])
    # As a deletion before scopes were withdrawn left them (or a token created meanwhile).
    Service.objects.filter(pk=billing.pk).delete()
    assert _scopes(token) == ["billing:read"]

    _guard_again(admin_actor, workspace)

    assert _scopes(token) == []
    assert _removed(token)[0]["reason"] == "stale_scope"


def test_a_new_slug_moves_the_holders_to_the_new_scopes_and_withdraws_stale_ones(
    admin_actor, admin_user, workspace, billing
):
    old, old_secret = issue(admin_user, workspace, "old", scopes=["tokens:read", "billing:read"])
    stale, _ = issue(admin_user, workspace, "stale", scopes=["tokens:read"])
    Token.objects.filter(pk=stale.pk).update(scopes=["tokens:read", "invoices:write"])

    services.service_update(actor=admin_actor, service=billing, slug="invoices")

    assert (_scopes(old), _scopes(stale)) == (["tokens:read", "invoices:read"], ["tokens:read"])
    assert _allowed(old_secret, host="eu.billing.example.com")  # renaming is not revoking
    assert _removed(old) == []
    assert _removed(stale)[0]["reason"] == "stale_scope"
    renamed = AuditEvent.objects.get(action="token.scopes_renamed")
    assert (renamed.target_id, renamed.details["from"], renamed.details["to"]) == (
        old.public_id,
        "billing",
        "invoices",
    )


def test_other_workspaces_tokens_keep_their_scopes(admin_actor, billing, outsider, other_workspace):
    actor = actor_of(outsider, other_workspace)
    resource = resource_create(actor=actor, workspace=other_workspace, name="Billing")
    services.service_create(actor=actor, resource=resource, slug="billing", rules=[("b", "/")])
    theirs, _ = issue(outsider, other_workspace, "theirs", scopes=["billing:read"])
    services.service_delete(actor=admin_actor, service=billing)
    assert _scopes(theirs) == ["billing:read"]


def test_a_similar_slug_is_not_withdrawn(admin_actor, admin_user, workspace, billing):
    _guard_again(admin_actor, workspace, slug="billing-v2")
    token, _ = issue(admin_user, workspace, "v2", scopes=["billing-v2:read"])
    services.service_delete(actor=admin_actor, service=billing)
    assert _scopes(token) == ["billing-v2:read"]


def test_rotation_copies_only_scopes_that_still_exist(admin_actor, admin_user, workspace, billing):
    token, _ = issue(admin_user, workspace, "reader", scopes=["tokens:read", "billing:read"])
    # Left from before scopes were withdrawn: the service is gone, the name stayed.
    Service.objects.filter(pk=billing.pk).delete()

    successor, _ = token_rotate(actor=admin_actor, token=token)

    assert successor.scopes == ["tokens:read"]
    rotated = AuditEvent.objects.get(action="token.rotated")
    assert rotated.details["scopes_dropped"] == ["billing:read"]


@pytest.mark.parametrize("holders", [1, 6])
def test_withdrawing_and_renaming_scopes_costs_the_same_queries_for_any_number_of_holders(
    holders, admin_actor, admin_user, workspace, billing, django_assert_num_queries
):
    for number in range(holders):
        issue(admin_user, workspace, f"holder-{number}", scopes=["billing:read"])
    # The workspace lock, the holders (locked), one update of their scopes, one
    # insert of their events.
    with django_assert_num_queries(4):
        services.scopes_rename(
            actor=admin_actor, workspace_id=workspace.pk, old_slug="billing", new_slug="invoices"
        )
    with django_assert_num_queries(4):
        services.scopes_withdraw(
            actor=admin_actor, workspace_id=workspace.pk, slug="invoices", reason="stale_scope"
        )
    assert AuditEvent.objects.filter(action="token.scopes_removed").count() == holders
