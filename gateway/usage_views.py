"""The usage section of a token's activity page (charts, clients) and its CSV export."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from accounts.csv_cells import spreadsheet_safe
from accounts.permissions import workspace_view
from gateway import usage_charts, usage_queries
from gateway.usage_models import UsageClient
from tokens import rules, services
from tokens.actors import Actor
from tokens.models import Token
from tokens.views.tokens import visible_token

OVERVIEW_DAYS = 7


def activity_section(request: HttpRequest, token: Token, actor: Actor) -> dict:
    """Return the context of the usage section for a token's activity page."""
    chart = usage_charts.build(token, request.GET.get("range", ""))
    period = usage_charts.period_for(chart.range_key)
    shows_clients = rules.may_read_audit(actor)
    return {
        "template": "gateway/usage_section.html",
        "token": token,
        "chart": chart,
        "ranges": [(key, label) for key, (label, _, _) in usage_charts.RANGES.items()],
        "resources": usage_queries.top_resources(token, period),
        "shows_clients": shows_clients,
        "ips": usage_queries.clients(token, UsageClient.Kind.IP) if shows_clients else [],
        "agents": usage_queries.clients(token, UsageClient.Kind.USER_AGENT)
        if shows_clients
        else [],
    }


@workspace_view()
def usage_csv(request: HttpRequest, public_id: str) -> HttpResponse:
    """Download a token's uses over a period as CSV, one row per step."""
    token = visible_token(request, public_id)
    params = request.GET
    if "range" in params and not params.get("granularity"):
        period = usage_charts.period_for(
            params["range"] if params["range"] in usage_charts.RANGES else "24h"
        )
    else:
        try:
            period = usage_queries.parse_period(params)
        except ValidationError as error:
            return HttpResponse(
                " ".join(error.messages), status=400, content_type="text/plain; charset=utf-8"
            )
    out = io.StringIO()
    writer = csv.writer(out)
    outcomes = list(usage_charts.STACK)
    writer.writerow(["start", "total", *outcomes])
    for point in usage_queries.series(token, period):
        writer.writerow(
            [point["start"].isoformat(), point["total"], *(point[name] for name in outcomes)]
        )
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    name = spreadsheet_safe(token.public_id)
    response["Content-Disposition"] = (
        f'attachment; filename="usage-{name}-{period.granularity}.csv"'
    )
    response["Cache-Control"] = "no-store"
    return response


def overview_panel(request: HttpRequest) -> dict:
    """Return the workspace's usage of the last week for the overview page."""
    actor = Actor.member(request.membership)
    tokens = services.tokens_visible_to(actor, request.workspace)
    return {
        "template": "gateway/usage_overview.html",
        "days": OVERVIEW_DAYS,
        **usage_queries.workspace_usage(tokens, timezone.now() - timedelta(days=OVERVIEW_DAYS)),
    }
