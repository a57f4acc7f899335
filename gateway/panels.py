"""The HTTP service column and action of Settings → Resources, and the warning of its delete
dialog about the service's scopes (tokens.resource_panels)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Prefetch

from gateway.models import Service, ServiceRule
from gateway.services import tokens_losing_access
from tokens.models import Resource
from tokens.resource_panels import DeleteWarning, ResourcePanel


def services_of(resources: Sequence[Resource]) -> dict[int, Service]:
    """Return the services among `resources` with their rules, by resource pk: two queries."""
    found = Service.objects.filter(resource_id__in=[resource.pk for resource in resources])
    rules = Prefetch("rules", queryset=ServiceRule.objects.order_by("host", "path_prefix"))
    return {service.resource_id: service for service in found.prefetch_related(rules)}


SERVICE_PANEL = ResourcePanel(
    key="gateway.service",
    heading="HTTP service",
    load=services_of,
    cell_template="gateway/resource_cell.html",
    action_template="gateway/resource_action.html",
)


def scopes_lost_on_delete(resource: Resource) -> dict | None:
    """Return the service `resource` is, with how many active tokens hold its scopes and would
    lose them if it were deleted (gateway.receivers withdraws them); None for a label: two
    queries."""
    service = Service.objects.filter(resource_id=resource.pk).first()
    if service is None:
        return None
    return {"service": service, "losing_access": tokens_losing_access(service)}


SCOPES_WARNING = DeleteWarning(
    key="gateway.scopes",
    load=scopes_lost_on_delete,
    template="gateway/resource_delete_warning.html",
)
