"""Bump a workspace's services version whenever its services, their rules or resources change;
put that version into the token lookup, the decision into /api/v1/introspect and the
services' scopes into their workspace's catalogue."""

from __future__ import annotations

from django.db.models import QuerySet
from django.db.models.signals import post_delete, post_save, pre_delete
from django.dispatch import receiver

from accounts.overview import register_overview_panel
from gateway import services, usage, usage_views, versions
from gateway.decision import decide
from gateway.models import Service, ServiceRule
from gateway.scopes import service_scopes
from gateway.usage_api import router as usage_router
from tokens.actors import Actor
from tokens.api import api, register_request_decider
from tokens.auth import register_lookup_column, register_use_observer
from tokens.models import Resource
from tokens.scopes import register_workspace_scopes
from tokens.services.resources import register_before_resource_delete
from tokens.views.activity import register_activity_section

register_lookup_column(versions.LOOKUP_NAME, versions.lookup_expression)
register_request_decider(decide)
register_workspace_scopes(service_scopes)
register_use_observer(usage.record)
api.add_router("", usage_router)
register_activity_section(usage_views.activity_section)
register_overview_panel(usage_views.overview_panel)


@receiver([post_save, post_delete], sender=Service)
@receiver([post_save, post_delete], sender=ServiceRule)
def _service_changed(sender, instance, **kwargs) -> None:
    versions.bump(instance.workspace_id)


@receiver([post_save, post_delete], sender=Resource)
def _resource_changed(sender, instance, created=False, **kwargs) -> None:
    # A new resource is no service yet; a renamed or deleted one may be (its name is in
    # the compiled rules, and tokens limited to resources name them).
    if not created and Service.objects.filter(resource_id=instance.pk).exists():
        versions.bump(instance.workspace_id)


def _withdraw_before_resource_delete(*, actor, resource, request) -> None:
    # tokens.services.resources.resource_delete: the person deleting is the actor.
    for service in Service.objects.filter(resource_id=resource.pk):
        services.scopes_withdraw(
            actor=actor,
            workspace_id=service.workspace_id,
            slug=service.slug,
            reason="resource_deleted",
            request=request,
        )


register_before_resource_delete(_withdraw_before_resource_delete)


@receiver(pre_delete, sender=Service)
def _service_deleted_with_its_resource(sender, instance, origin=None, **kwargs) -> None:
    # A resource deleted some other way (a queryset, a shell) deletes its service by
    # CASCADE: its scopes are withdrawn here, in the same transaction (by then, after
    # resource_delete, no token holds them). Deleting a workspace takes its tokens along;
    # service_delete withdraws them itself.
    origin_model = origin.model if isinstance(origin, QuerySet) else type(origin)
    if origin_model is Resource:
        services.scopes_withdraw(
            actor=Actor.system(),
            workspace_id=instance.workspace_id,
            slug=instance.slug,
            reason="resource_deleted",
        )
