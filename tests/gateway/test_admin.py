"""Operators manage services in Django admin, through the same service functions."""

from __future__ import annotations

from accounts.models import AuditEvent
from gateway.models import Service
from tokens.services.resources import resource_create

ADD = "/admin/gateway/service/add/"


def test_the_list_shows_services_and_their_rules(operator_client, billing):
    response = operator_client.get("/admin/gateway/service/")
    assert response.status_code == 200
    assert b"api.example.com/billing" in response.content


def test_an_operator_makes_a_resource_a_service(operator_client, admin_actor, workspace):
    resource = resource_create(actor=admin_actor, workspace=workspace, name="Wiki")
    response = operator_client.post(
        ADD,
        {
            "resource": resource.pk,
            "slug": "",
            "method_scopes": '{"GET": "read"}',
            "rules_text": "Wiki.example.com\nwiki.example.com /api/",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    service = Service.objects.get(resource=resource)
    assert service.slug == "wiki"
    assert sorted(str(rule) for rule in service.rules.all()) == [
        "wiki.example.com/",
        "wiki.example.com/api",
    ]
    event = AuditEvent.objects.get(action="service.created")
    assert event.actor_label == "operator@example.com"


def test_bad_rules_are_field_errors_and_nothing_is_made(
    operator_client, admin_actor, workspace, billing
):
    resource = resource_create(actor=admin_actor, workspace=workspace, name="Wiki")
    for rules_text, message in (
        ("not a host at all", "write a host and one path prefix"),
        ("bad_host /", "is not a host name"),
        ("api.example.com /billing/", "already guards api.example.com/billing"),
    ):
        response = operator_client.post(
            ADD,
            {
                "resource": resource.pk,
                "method_scopes": '{"GET": "read"}',
                "rules_text": rules_text,
            },
        )
        assert response.status_code == 200
        assert message in response.content.decode()
    assert not Service.objects.filter(resource=resource).exists()


def test_an_operator_changes_and_deletes_a_service(operator_client, billing):
    url = f"/admin/gateway/service/{billing.pk}/change/"
    response = operator_client.post(
        url,
        {"slug": "billing", "method_scopes": '{"GET": "read"}', "rules_text": "pay.example.com"},
    )
    assert response.status_code == 302, response.content[:2000]
    assert [str(rule) for rule in billing.rules.all()] == ["pay.example.com/"]
    response = operator_client.post(f"/admin/gateway/service/{billing.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Service.objects.exists()
    assert AuditEvent.objects.filter(action="service.deleted").count() == 1
