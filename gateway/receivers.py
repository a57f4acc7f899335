"""Bump a workspace's services version whenever its services, their rules or resources change;
put that version into the token lookup, the decision into /api/v1/introspect and the
services' scopes into their workspace's catalogue."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts.overview import register_overview_panel
from gateway import usage, usage_views, versions
from gateway.decision import decide
from gateway.models import Service, ServiceRule
from gateway.scopes import service_scopes
from gateway.usage_api import router as usage_router
from tokens.api import api, register_request_decider
from tokens.auth import register_lookup_column, register_use_observer
from tokens.models import Resource
from tokens.scopes import register_workspace_scopes
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
