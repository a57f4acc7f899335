"""Read the scope catalogue and the presets from settings."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings

from accounts.errors import field_error
from accounts.roles import Role


@dataclass(frozen=True)
class Scope:
    name: str
    label: str
    description: str
    lowest_role: Role
    # The resource a workspace's own scope opens ("" for the settings' scopes), and how
    # the Add token summary says it, as a phrase after "can": "call Orders with GET".
    resource: str = ""
    summary: str = ""


@dataclass(frozen=True)
class Preset:
    key: str
    label: str
    scopes: tuple[str, ...]


# Scopes other apps add for one workspace (the gateway: <service>:read and :write), as
# functions workspace_id -> Scopes. DESIGN §1: they register here; tokens never imports them.
_workspace_sources: list[Callable[[int], Iterable[Scope]]] = []


def register_workspace_scopes(source: Callable[[int], Iterable[Scope]]) -> None:
    """Add the scopes `source(workspace_id)` returns to that workspace's catalogue."""
    if source not in _workspace_sources:
        _workspace_sources.append(source)


def catalogue(workspace_id: int | None = None) -> dict[str, Scope]:
    """Return every scope a token may hold, by name, in the catalogue's order; with a
    workspace, followed by the scopes other apps add for it (its services')."""
    known = {
        name: Scope(
            name=name,
            label=entry.get("label", name),
            description=entry["description"],
            lowest_role=Role(entry["role"]),
        )
        for name, entry in settings.KEYWARD_SCOPES.items()
    }
    if workspace_id is not None:
        for source in _workspace_sources:
            for scope in source(workspace_id):
                known.setdefault(scope.name, scope)
    return known


def presets() -> list[Preset]:
    """Return the role presets (Read only, Read & write, Admin)."""
    known = catalogue()
    return [
        Preset(
            key=key, label=entry["label"], scopes=tuple(s for s in entry["scopes"] if s in known)
        )
        for key, entry in settings.KEYWARD_SCOPE_PRESETS.items()
    ]


def preset_scopes(key: str) -> list[str]:
    """Return the scopes of the preset `key`, or raise ValidationError naming the presets."""
    found = {preset.key: preset for preset in presets()}.get(key)
    if found is None:
        names = ", ".join(preset.key for preset in presets())
        raise field_error("preset", f"Choose one of the presets: {names}.", "invalid")
    return list(found.scopes)


def grantable_by(role: Role | str, workspace_id: int | None = None) -> set[str]:
    """Return the scopes that a member with `role` (of the workspace) may put on a token."""
    role = Role(role)
    return {
        name for name, scope in catalogue(workspace_id).items() if role.at_least(scope.lowest_role)
    }
