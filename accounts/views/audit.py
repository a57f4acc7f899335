"""Settings → Audit log: filter the workspace's events and export them as CSV."""

from __future__ import annotations

import csv
import json

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone

from accounts.audit_filters import AuditFilters
from accounts.csv_cells import spreadsheet_safe
from accounts.htmx import render_page
from accounts.models import AuditEvent
from accounts.permissions import Perm, workspace_view

TEMPLATE = "accounts/audit.html"
PAGE_SIZE = 50
CSV_COLUMNS = [
    "time",
    "action",
    "actor",
    "actor_token_id",
    "target_type",
    "target_id",
    "target",
    "ip",
    "user_agent",
    "details",
]


def _events(request: HttpRequest, filters: AuditFilters):
    return filters.apply(AuditEvent.objects.filter(workspace=request.workspace))


@workspace_view(Perm.AUDIT_VIEW)
def audit_log(request: HttpRequest) -> HttpResponse:
    """List the workspace's audit events, newest first, filtered and paginated."""
    filters = AuditFilters.from_query(request.GET)
    context = {
        "nav": "settings",
        "tab": "audit",
        "filters": filters,
        "page": Paginator(_events(request, filters), PAGE_SIZE).get_page(filters.page),
        "actions": AuditEvent.objects.filter(workspace=request.workspace)
        .order_by("action")
        .values_list("action", flat=True)
        .distinct(),
    }
    return render_page(request, TEMPLATE, context, partial="audit-table")


class _Echo:
    """A file-like object whose write returns what it is given, for csv.writer."""

    def write(self, value: str) -> str:
        return value


@workspace_view(Perm.AUDIT_VIEW)
def audit_export(request: HttpRequest) -> StreamingHttpResponse:
    """Stream the filtered audit events as CSV."""
    events = _events(request, AuditFilters.from_query(request.GET))
    writer = csv.writer(_Echo())

    def rows():
        yield writer.writerow(CSV_COLUMNS)
        for event in events.iterator(chunk_size=2000):
            yield writer.writerow(
                [
                    spreadsheet_safe(value)
                    for value in (
                        event.created_at.isoformat(),
                        event.action,
                        event.actor_label,
                        event.actor_token_id,
                        event.target_type,
                        event.target_id,
                        event.target_label,
                        event.ip or "",
                        event.user_agent,
                        json.dumps(event.details, sort_keys=True, default=str),
                    )
                ]
            )

    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="keyward-audit-{request.workspace.slug}-{stamp}.csv"'
    )
    return response
