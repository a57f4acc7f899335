"""Let newer apps add a column and an action to Settings → Resources; tokens never imports them.

DESIGN §1: `gateway` imports `tokens`, not the reverse. An app registers a
ResourcePanel from its AppConfig.ready(); the Resources tab asks each panel once
per page for what its rows show (one `load` for all of them, so the page's
queries do not grow with the number of resources) and includes the panel's
templates in each row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tokens.models import Resource

__all__ = ["PanelCell", "ResourcePanel", "attach", "panels", "register"]


@dataclass(frozen=True)
class ResourcePanel:
    """A column of the resource table, and an action for the roles that manage resources.

    `load(resources)` returns what to show for each resource, by its pk, in a
    fixed number of queries; `cell_template` and `action_template` are included
    in the row with `row` (the resource), `data` (what `load` returned for it,
    or None) and the page's context.
    """

    key: str
    heading: str
    load: Callable[[Sequence[Resource]], dict[int, Any]]
    cell_template: str
    action_template: str | None = None


@dataclass(frozen=True)
class PanelCell:
    panel: ResourcePanel
    data: Any


_panels: dict[str, ResourcePanel] = {}


def register(panel: ResourcePanel) -> None:
    """Add `panel` to the Resources tab (again under the same key replaces it)."""
    _panels[panel.key] = panel


def panels() -> tuple[ResourcePanel, ...]:
    """Return the registered panels in the order they were first registered."""
    return tuple(_panels.values())


def attach(resources: Iterable[Resource]) -> list[Resource]:
    """Return the resources as a list, each with `panel_cells`: one PanelCell per panel."""
    rows = list(resources)
    loaded = [(panel, panel.load(rows) if rows else {}) for panel in panels()]
    for row in rows:
        row.panel_cells = [PanelCell(panel, data.get(row.pk)) for panel, data in loaded]
    return rows
