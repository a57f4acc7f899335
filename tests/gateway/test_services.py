"""Making a resource an HTTP service: field errors, overlaps, permissions, audit, versions."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import AuditEvent
from gateway import services
from gateway.models import Service, ServiceRule, ServiceVersion
from tests.factories import actor_of
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
