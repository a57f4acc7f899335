"""Let other apps add panels to a workspace's overview page without accounts importing them."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest

OverviewPanel = Callable[[HttpRequest], dict]
_panels: list[OverviewPanel] = []


def register_overview_panel(panel: OverviewPanel) -> OverviewPanel:
    """Register `panel`, a function of the request returning {"template": …, …context}."""
    if panel not in _panels:
        _panels.append(panel)
    return panel


def overview_panels(request: HttpRequest) -> list[dict]:
    """Return the context of every registered panel for this request."""
    return [panel(request) for panel in _panels]
