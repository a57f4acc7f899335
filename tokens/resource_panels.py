"""Let newer apps add a column and an action to Settings → Resources, and warnings to its
delete dialog; tokens never imports them.

DESIGN §1: `gateway` imports `tokens`, not the reverse. An app registers a
ResourcePanel from its AppConfig.ready(); the Resources tab asks each panel once
per page for what its rows show (one `load` for all of them, so the page's
queries do not grow with the number of resources) and includes the panel's
templates in each row. Likewise an app registers a DeleteWarning: the delete
dialog asks each one what deleting that resource would also do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tokens.models import Resource

__all__ = [
    "DeleteWarning",
    "PanelCell",
    "ResourcePanel",
    "WarningCell",
    "attach",
    "delete_warnings",
    "panels",
    "register",
    "register_delete_warning",
]


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


@dataclass(frozen=True)
class DeleteWarning:
    """What deleting a resource would also do, for its delete dialog.

    `load(resource)` returns what to say, or None for nothing, in a fixed number
    of queries; `template` is included in the dialog with `data` (what `load`
    returned) and the dialog's context (`deleting`: the resource).
    """

    key: str
    load: Callable[[Resource], Any]
    template: str


@dataclass(frozen=True)
class WarningCell:
    warning: DeleteWarning
    data: Any


_delete_warnings: dict[str, DeleteWarning] = {}


def register_delete_warning(warning: DeleteWarning) -> None:
    """Add `warning` to the resource delete dialog (again under the same key replaces it)."""
    _delete_warnings[warning.key] = warning


def delete_warnings(resource: Resource) -> list[WarningCell]:
    """Return what each registered warning says about deleting `resource`, leaving out those
    with nothing to say."""
    cells = [WarningCell(warning, warning.load(resource)) for warning in _delete_warnings.values()]
    return [cell for cell in cells if cell.data is not None]
