"""Read the scope catalogue and the presets from settings, and the scopes of a workspace.

Some scopes exist in one workspace only (an HTTP service's `<slug>:read`): the
app that defines them registers a provider (register_workspace_scopes), and the
catalogue of that workspace includes them. tokens never imports that app.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError

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


WorkspaceScopes = Callable[[Any], Iterable[Scope]]
_workspace_scopes: list[WorkspaceScopes] = []


def register_workspace_scopes(provider: WorkspaceScopes) -> None:
    """Add `provider(workspace)`, which returns scopes that exist in that workspace only."""
    if provider not in _workspace_scopes:
        _workspace_scopes.append(provider)


def catalogue(workspace: Any = None) -> dict[str, Scope]:
    """Return every scope a token may hold, by name, in the catalogue's order.

    With a workspace, its own scopes follow the settings' (one query per provider);
    a name the settings already have keeps the settings' meaning.
    """
    known = {
        name: Scope(
            name=name,
            label=entry.get("label", name),
            description=entry["description"],
            lowest_role=Role(entry["role"]),
        )
        for name, entry in settings.KEYWARD_SCOPES.items()
    }
    if workspace is not None:
        for provider in _workspace_scopes:
            for scope in provider(workspace):
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
        raise ValidationError({"preset": f"Choose one of the presets: {names}."}, code="invalid")
    return list(found.scopes)


def workspace_if_needed(names: Iterable[str], workspace: Any) -> Any:
    """Return `workspace` when some of `names` are not the settings' scopes (they may be
    its own), else None: the common case asks no query for the workspace's scopes."""
    if workspace is None or set(names) <= settings.KEYWARD_SCOPES.keys():
        return None
    return workspace


def grantable_by(role: Role | str, workspace: Any = None) -> set[str]:
    """Return the scopes that a member with `role` may put on a token (of `workspace`)."""
    role = Role(role)
    return {
        name for name, scope in catalogue(workspace).items() if role.at_least(scope.lowest_role)
    }
