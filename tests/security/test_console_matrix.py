"""Every console and admin URL, as every kind of caller: refused where the table says, and inert.

The routes come from the URL conf itself, so a new URL that is not in `CONSOLE`
fails `test_every_route_is_in_the_table` until someone decides who may use it,
and then every forbidden cell is tried against it: GET and POST, with real
objects of the workspace named in the URL and of another workspace.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.factories import signed_in
from tests.security.world import World, changes, rolled_back, shared_world, snapshot


class Need(IntEnum):
    """The least a caller needs; the roles are of the workspace named in the URL."""

    PUBLIC = 0
    SIGNED_IN = 1
    MEMBER = 2
    MANAGER = 3
    ADMIN = 4
    OPERATOR = 10  # Django staff, in /admin/
    NOBODY = 99  # refused to every caller (a method the view does not accept, a signed webhook)


@dataclass(frozen=True)
class Rule:
    get: Need
    post: Need
    data: dict | None = None  # what a POST sends: a valid request, so a missing check shows


def rule(get: Need, post: Need | None = None, **data) -> Rule:
    return Rule(get, get if post is None else post, data or None)


P, S, MEM, MAN, ADM, NO = (
    Need.PUBLIC,
    Need.SIGNED_IN,
    Need.MEMBER,
    Need.MANAGER,
    Need.ADMIN,
    Need.NOBODY,
)

# The minimum for each named route. Token routes are tried on a workspace token
# (Managers and Admins manage those; a Member only sees it); member and
# invitation routes on the Member's membership and a pending invitation.
CONSOLE: dict[str, Rule] = {
    "accounts:home": rule(P),
    "accounts:login": rule(P),
    "accounts:logout": rule(NO, P),
    "accounts:signup": rule(P),
    "accounts:password_change": rule(S),
    "accounts:password_change_done": rule(S),
    "accounts:password_reset": rule(P),
    "accounts:password_reset_done": rule(P),
    "accounts:password_reset_confirm": rule(P),
    "accounts:password_reset_complete": rule(P),
    "accounts:invitation_accept": rule(P),
    # Two-factor authentication (issue 12, TOTP and recovery codes).
    "accounts:security": rule(S),
    "accounts:security_totp_setup": rule(S, S, code="000000"),
    "accounts:security_totp_remove": rule(S, S, password="{password}", code="000000"),
    "accounts:security_recovery_codes_regenerate": rule(S, S, password="{password}"),
    "accounts:security_recovery_codes_new": rule(S),
    "accounts:security_two_factor": rule(P, P, code="000000"),
    # Where a workspace requiring two-factor sends a member who lacks it (anyone else moves on).
    "accounts:two_factor_required": rule(S),
    "accounts:workspace_create": rule(S, S, name="Initech"),
    "accounts:workspace_overview": rule(MEM),
    "accounts:settings": rule(MEM),
    "accounts:members": rule(MEM),
    "accounts:member_invite": rule(ADM, ADM, email="new@example.com", role="member"),
    "accounts:member_role": rule(NO, ADM, role="admin"),
    "accounts:member_remove": rule(ADM),
    "accounts:invitation_resend": rule(NO, ADM),
    "accounts:invitation_cancel": rule(NO, ADM),
    "accounts:audit": rule(MAN),
    # Single sign-on: 404 to everyone here, where no issuer is configured; with one,
    # tests/accounts/test_sso.py covers them.
    "accounts:sso_login": rule(NO, NO),
    "accounts:sso_callback": rule(NO, NO),
    # Not found while SSO is off, as here; test_sudo_prompt.py covers it with a provider.
    "accounts:sso_reauth": rule(NO, NO),
    "accounts:sso_settings": rule(
        MEM,
        ADM,
        jit_enabled="on",
        jit_domains="example.org",
        jit_role="member",
        password="{password}",
    ),
    # Passkeys: the signed-in user's own. A <pk> here is an invitation's, nobody's passkey, so
    # everyone is refused; tests/accounts/test_passkey_views.py covers the owner and others.
    "accounts:passkey_list": rule(S),
    "accounts:passkey_add": rule(S),
    # Only in sudo mode, which no caller here is in: test_passkey_views.py covers it.
    "accounts:passkey_add_options": rule(NO, NO, name="Phone"),
    "accounts:passkey_rename": rule(NO, NO, name="Renamed"),
    "accounts:passkey_remove": rule(NO, NO, password="{password}"),
    "accounts:passkey_sudo_options": rule(NO, S),
    "accounts:passkey_sudo": rule(NO, S),
    "accounts:passkey_login_options": rule(NO, P),
    "accounts:passkey_login": rule(NO, P),
    # Only a pending sign-in (a right password) may answer; test_passkey_views.py covers it.
    "accounts:passkey_two_factor_options": rule(NO, NO),
    "accounts:passkey_two_factor": rule(NO, NO),
    "accounts:audit_export": rule(MAN),
    "tokens:github_secret_scanning": rule(NO, NO),
    "tokens:list": rule(MEM),
    "tokens:create": rule(MEM, MAN, name="made", kind="workspace", preset="read", expiration="30"),
    "tokens:check": rule(MAN, MAN, value="{secret}"),
    "tokens:rename": rule(MAN, MAN, name="renamed", description="changed"),
    "tokens:rotate": rule(MAN, MAN, grace="none"),
    "tokens:revoke": rule(MAN),
    "tokens:reveal": rule(NO, MAN, purpose="reveal", password="{password}"),
    "tokens:activity": rule(MEM),
    "usage:csv": rule(MEM),
    "tokens:resources": rule(MEM),
    "tokens:resource_create": rule(ADM, ADM, name="new-db"),
    "tokens:resource_rename": rule(ADM, ADM, name="renamed-db"),
    "tokens:resource_delete": rule(ADM),
    # HTTP services (gateway/console.py), on a resource that is a label until guarded.
    "gateway:service_edit": rule(ADM, ADM, rules="svc.example.com/v1", read_methods="GET"),
    "gateway:service_delete": rule(ADM),
    "tokens:policies": rule(MEM, ADM, max_lifetime_days="7", reveal_policy="show_once"),
    # Probes answer anyone; /metrics answers an address (the test client's is loopback, the
    # default allowed network) or a metrics:read token: tests/ops/test_metrics.py.
    "ops:healthz": rule(P, NO),
    "ops:readyz": rule(P, NO),
    "ops:metrics": rule(P, NO),
    # The gateway check reads no session: without a token it refuses everyone (401/403);
    # tests/gateway/ covers the tokens it allows.
    "gateway:check": rule(NO, NO),
    "gateway:check_envoy": rule(NO, NO),
    # Per-token limits: those who may rename the token.
    "gateway_limits:edit": rule(
        MAN, MAN, rate="5", rate_period="minute", quota="100", quota_period="month"
    ),
    # Settings → Limits & usage: Admins alone, even to look.
    "gateway_limits:policy": rule(
        ADM,
        ADM,
        default_rate_period="minute",
        default_quota_period="month",
        max_quota="100",
        email_on_new_ip="on",
    ),
    # What the typed ceilings would cap: Admins alone, and only read (GET).
    "gateway_limits:policy_preview": rule(ADM, NO),
}
# Django admin: staff only, but for its own sign-in pages.
ADMIN_PUBLIC = {"admin:login": rule(P), "admin_login": rule(P), "admin:logout": rule(NO, P)}
# The API's operations are covered one by one in test_api_matrix.py, from its schema;
# anything else under /api/v1/ must be one of these public pages.
API_PUBLIC = {"api:openapi-json", "api:openapi-view", "api:api-root", "api/v1/^(?P<path>.*)$"}


def _walk(patterns, prefix: str = "", namespace: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace + (f"{pattern.namespace}:" if pattern.namespace else "")
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}{pattern.name}" if pattern.name else None
            yield prefix + str(pattern.pattern), name, pattern.callback.__module__


ALL_ROUTES = list(_walk(get_resolver().url_patterns))
ROUTES = [(route, name) for route, name, _ in ALL_ROUTES]


def _rule(route: str, name: str | None) -> Rule | None:
    if name in CONSOLE:
        return CONSOLE[name]
    if route.startswith("admin/"):
        return ADMIN_PUBLIC.get(name or "", rule(Need.OPERATOR))
    return None


def test_every_route_is_in_the_table():
    """A URL nobody decided about fails here, before it can ship unchecked."""
    unknown = [
        f"{route} ({name})"
        for route, name, module in ALL_ROUTES
        if not route.startswith("api/v1/") and _rule(route, name) is None
    ]
    unknown += [
        f"{route} ({name})"
        for route, name, module in ALL_ROUTES
        if route.startswith("api/v1/")
        and module != "ninja.operation"  # in the schema, so in test_api_matrix's table
        and (name or route) not in API_PUBLIC
    ]
    assert not unknown, f"unknown route, add it to the table in {__name__}: {unknown}"
    stale = set(CONSOLE) - {name for _, name in ROUTES}
    assert not stale, f"the table names routes that no longer exist: {stale}"


# Callers: who they are and how high they stand in the URL's workspace.
CALLERS = ("anonymous", "member", "manager", "admin", "operator", "outsider")
STANDING = {
    "anonymous": Need.PUBLIC,
    "member": Need.MEMBER,
    "manager": Need.MANAGER,
    "admin": Need.ADMIN,
    "operator": Need.SIGNED_IN,  # staff, but a stranger to every workspace
    "outsider": Need.SIGNED_IN,  # Admin of Globex, a stranger to Acme
}
ARG = re.compile(r"\(\?P<(?P<group>\w+)>[^)]*\)|<(?:\w+:)?(?P<name>\w+)>")


def _client(world: World, caller: str):
    users = {
        "member": world.member,
        "manager": world.manager,
        "admin": world.acme.admin,
        "operator": world.operator,
        "outsider": world.globex.admin,
    }
    return Client() if caller == "anonymous" else signed_in(users[caller])


def _url(route: str, world: World, side) -> str:
    """Fill the route's arguments with real objects: Acme's slug and `side`'s objects."""
    values = {
        "slug": world.acme.workspace.slug,
        "public_id": side.token.public_id,
        "token": "not-a-valid-link",
        "uidb64": "MQ",
        "content_type_id": "1",
        "object_id": "1",
        "id": "1",
        "app_label": "tokens",
        "url": "no-such-page/",
        "path": "billing/x",
    }
    resource_route = "/resources/" in route
    member_route = "/members/" in route

    def fill(match: re.Match) -> str:
        name = match["name"] or match["group"]
        if name == "pk":
            if resource_route:
                return str(side.resource.pk)
            if member_route:
                return str(side.membership.pk)
            return str(side.invitation.pk)
        return values[name]

    return "/" + ARG.sub(fill, route).replace("^", "").replace("$", "")


def _allowed(need: Need, caller: str, workspace_route: bool) -> bool:
    if need is Need.NOBODY:
        return False
    if need is Need.OPERATOR:
        return caller == "operator"
    if workspace_route and caller in ("operator", "outsider"):
        return need is Need.PUBLIC
    return STANDING[caller] >= need


def _refused(response, caller: str) -> bool:
    if response.status_code in (403, 404, 405, 400, 401):
        return True
    location = response.get("Location", "") if response.status_code == 302 else ""
    return (caller == "anonymous" and "login/" in location) or "/admin/login/" in location


def _data(rule_: Rule, world: World) -> dict:
    fills = {"{secret}": world.acme.secret, "{password}": "correct-horse-battery-staple"}
    return {key: fills.get(value, value) for key, value in (rule_.data or {}).items()}


def _try(world: World, client, caller: str, method: str, url: str, data: dict):
    """Send one request; return its response and, if refused, the tables it changed.

    The request runs in a savepoint that is then undone, so every cell starts
    from the same world and is compared with the same baseline.
    """
    with rolled_back():
        response = getattr(client, method)(url, data) if method == "post" else client.get(url)
        watched = method == "get" or _refused(response, caller)
        changed = changes(world.baseline, snapshot()) if watched else []
    return response, changed


def _cells():
    for route, name in ROUTES:
        if route.startswith("api/v1/"):
            continue
        yield pytest.param(route, name, id=name or route)


world = shared_world()
pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("route", "name"), list(_cells()))
def test_route_refuses_whom_the_table_refuses(world: World, route: str, name: str | None):
    """Each forbidden (caller, method) answers 403/404/405 or sends to sign-in; nothing changes.

    No GET changes anything, whoever sends it.

    Allowed cells must not answer a refusal nor a 500, so the table cannot be
    stricter than the code without failing either.
    """
    rule_ = _rule(route, name)
    if rule_ is None:
        pytest.skip("not in the table: test_every_route_is_in_the_table fails for it")
    workspace_route = route.startswith("w/<slug:slug>/")
    is_admin = route.startswith("admin/")
    url = _url(route, world, world.acme)
    failures = []
    # In /admin/ only staff counts: one non-staff user of each kind is enough.
    callers = ("anonymous", "admin", "operator") if is_admin else CALLERS
    for caller in callers:
        client = _client(world, caller)
        for method, need in (("get", rule_.get), ("post", rule_.post)):
            if method == "get" and route.endswith("logout/"):
                continue
            if is_admin and caller == "operator" and method == "post":
                continue  # staff may change anything there; a blank POST tells nothing
            response, changed = _try(world, client, caller, method, url, _data(rule_, world))
            allowed = _allowed(need, caller, workspace_route)
            cell = f"{caller} {method.upper()} {url} -> {response.status_code}"
            if response.status_code >= 500:
                failures.append(f"{cell}: server error")
            elif not allowed and not _refused(response, caller):
                failures.append(f"{cell}: should be refused (needs {need.name})")
            elif not allowed and changed:
                failures.append(f"{cell}: refused but changed {changed}")
            elif allowed and not is_admin and response.status_code in (403, 404):
                failures.append(f"{cell}: the table allows it ({need.name})")
            elif method == "get" and changed:
                # CSRF protection covers unsafe methods only: a GET must change nothing.
                failures.append(f"{cell}: a GET changed {changed}")
    assert not failures, "\n".join(failures)


def _object_routes():
    for route, name in ROUTES:
        if route.startswith("w/<slug:slug>/") and ("<int:pk>" in route or "public_id" in route):
            yield pytest.param(route, name, id=name)


@pytest.mark.parametrize(("route", "name"), list(_object_routes()))
def test_another_workspace_object_is_not_found(world: World, route: str, name: str):
    """An Acme Admin naming a Globex object in an Acme URL gets 404 and changes nothing."""
    url = _url(route, world, world.globex)
    client = _client(world, "admin")
    rule_ = CONSOLE[name]
    for method in ("get", "post"):
        response, changed = _try(world, client, "admin", method, url, _data(rule_, world))
        assert response.status_code in (404, 405), f"{method} {url}: {response.status_code}"
        assert not changed, f"{method} {url} changed {changed}"
