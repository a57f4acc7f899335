"""Read the scope catalogue and the presets from settings."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError

from accounts.roles import Role


@dataclass(frozen=True)
class Scope:
    name: str
    label: str
    description: str
    lowest_role: Role


@dataclass(frozen=True)
class Preset:
    key: str
    label: str
    scopes: tuple[str, ...]


def catalogue() -> dict[str, Scope]:
    """Return every scope a token may hold, by name, in the catalogue's order."""
    return {
        name: Scope(
            name=name,
            label=entry.get("label", name),
            description=entry["description"],
            lowest_role=Role(entry["role"]),
        )
        for name, entry in settings.KEYWARD_SCOPES.items()
    }


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


def grantable_by(role: Role | str) -> set[str]:
    """Return the scopes that a member with `role` may put on a token."""
    role = Role(role)
    return {name for name, scope in catalogue().items() if role.at_least(scope.lowest_role)}
