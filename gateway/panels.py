"""The HTTP service column and action of Settings → Resources (tokens.resource_panels)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Prefetch

from gateway.models import Service, ServiceRule
from tokens.models import Resource
from tokens.resource_panels import ResourcePanel


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
