"""Compile a workspace's match rules once per process and find the service a request is for.

The compiled rules are kept per workspace with the version they were loaded
under; the token lookup returns the current version with the token, so a
request costs no query unless the rules changed since this process last loaded
them (then one). A workspace without services has no version: no query at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.matching import prefix_segments
from gateway.models import ServiceRule, scope_name

# Workspaces whose rules one process keeps; beyond this the cache starts afresh.
MAX_WORKSPACES = 10_000


@dataclass(frozen=True, slots=True)
class CompiledService:
    """What the decision needs of a service: its resource, scopes and method levels."""

    pk: int
    slug: str
    resource_id: int
    resource_name: str
    method_scopes: dict[str, str]

    def scope_for(self, method: str) -> str:
        """Return the scope a request with `method` needs (unlisted methods need write)."""
        return scope_name(self.slug, self.method_scopes.get(method, "write"))


Prefixes = tuple[tuple[tuple[str, ...], CompiledService], ...]


@dataclass(frozen=True, slots=True)
class CompiledRules:
    """A workspace's rules: by exact host, then by wildcard suffix, longest prefix first."""

    exact: dict[str, Prefixes] = field(default_factory=dict)
    wildcards: tuple[tuple[str, Prefixes], ...] = ()
    # Each service with its own prefixes, by slug and by resource name (case-folded).
    by_name: dict[str, tuple[CompiledService, tuple[tuple[str, ...], ...]]] = field(
        default_factory=dict
    )

    def match(self, host: str | None, segments: tuple[str, ...]) -> CompiledService | None:
        """Return the service guarding `host` + `segments`, or None.

        The most specific host wins (exact, then the longest wildcard), and only
        its rules are tried, longest prefix first: a request to a host that has
        rules but none for its path matches nothing (deny by default), rather
        than a broader host's service.
        """
        if host is None:
            return None
        prefixes = self.exact.get(host)
        if prefixes is None:
            for suffix, candidates in self.wildcards:
                if host.endswith(suffix):
                    prefixes = candidates
                    break
            else:
                return None
        for prefix, service in prefixes:
            if segments[: len(prefix)] == prefix:
                return service
        return None

    def named(self, name: str, segments: tuple[str, ...] | None) -> CompiledService | None:
        """Return the service whose slug or resource name is `name`, or None; with
        `segments`, only if one of its rules' prefixes (on any host) covers them."""
        found = self.by_name.get(name.casefold())
        if found is None:
            return None
        service, prefixes = found
        if segments is not None and not any(
            segments[: len(prefix)] == prefix for prefix in prefixes
        ):
            return None
        return service


EMPTY = CompiledRules()
_compiled: dict[int, tuple[int, CompiledRules]] = {}


def compile_rules(rows) -> CompiledRules:
    """Return the compiled form of (host, path_prefix, CompiledService) rows."""
    by_host: dict[str, list[tuple[tuple[str, ...], CompiledService]]] = {}
    for host, path_prefix, service in rows:
        by_host.setdefault(host, []).append((prefix_segments(path_prefix), service))
    ordered = {
        host: tuple(sorted(entries, key=lambda entry: -len(entry[0])))
        for host, entries in by_host.items()
    }
    exact = {host: entries for host, entries in ordered.items() if not host.startswith("*.")}
    wildcards = sorted(
        ((host[1:], entries) for host, entries in ordered.items() if host.startswith("*.")),
        key=lambda item: -len(item[0]),
    )
    prefixes_of: dict[int, list[tuple[str, ...]]] = {}
    services: dict[int, CompiledService] = {}
    for _host, path_prefix, service in rows:
        services[service.pk] = service
        prefixes_of.setdefault(service.pk, []).append(prefix_segments(path_prefix))
    by_name = {}
    for pk, service in services.items():
        entry = (service, tuple(prefixes_of[pk]))
        by_name[service.resource_name.casefold()] = entry
        by_name[service.slug.casefold()] = entry
    return CompiledRules(exact=exact, wildcards=tuple(wildcards), by_name=by_name)


def load_rules(workspace_id: int) -> CompiledRules:
    """Return the workspace's rules compiled from the database (one query)."""
    services: dict[int, CompiledService] = {}
    rows = []
    for rule in ServiceRule.objects.filter(workspace_id=workspace_id).select_related(
        "service__resource"
    ):
        service = rule.service
        if service.pk not in services:
            services[service.pk] = CompiledService(
                pk=service.pk,
                slug=service.slug,
                resource_id=service.resource_id,
                resource_name=service.resource.name,
                method_scopes=dict(service.method_scopes),
            )
        rows.append((rule.host, rule.path_prefix, services[service.pk]))
    return compile_rules(rows)


def rules_for(workspace_id: int, version: int | None) -> CompiledRules:
    """Return the workspace's compiled rules at `version` (from the token lookup)."""
    if version is None:
        return EMPTY
    cached = _compiled.get(workspace_id)
    if cached is not None and cached[0] == version:
        return cached[1]
    rules = load_rules(workspace_id)
    if len(_compiled) >= MAX_WORKSPACES:
        _compiled.clear()
    _compiled[workspace_id] = (version, rules)
    return rules


def forget() -> None:
    """Drop every workspace's compiled rules (tests; the versions make it needless otherwise)."""
    _compiled.clear()
