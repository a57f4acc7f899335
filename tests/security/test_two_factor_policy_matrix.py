"""Every workspace route, for a Manager without two-factor in a workspace that requires it.

The routes come from the URL conf, as in test_console_matrix: a new page under
/w/<slug>/ is walked here without anyone listing it. Each must send the Manager
to set up two-factor (303 for a page, HX-Redirect for HTMX) and change nothing;
the same Manager, once an authenticator app is set up, gets past the check.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import TwoFactorPolicy, Workspace
from tests.accounts.otp import enrol_totp
from tests.factories import HTMX, signed_in
from tests.security.test_console_matrix import CONSOLE, ROUTES, Need, _data, _url
from tests.security.world import World, changes, rolled_back, shared_world, snapshot

WORKSPACE_ROUTES = [(route, name) for route, name in ROUTES if route.startswith("w/<slug:slug>/")]

world = shared_world()
pytestmark = pytest.mark.django_db


def test_the_walk_finds_every_workspace_route():
    # Each is in the console table too (test_every_route_is_in_the_table), so it has data.
    assert len(WORKSPACE_ROUTES) >= 20
    assert all(name in CONSOLE for _, name in WORKSPACE_ROUTES)


def _requests(client, url: str, data: dict):
    yield "GET", client.get(url)
    yield "HTMX GET", client.get(url, **HTMX)
    yield "POST", client.post(url, data)
    yield "HTMX POST", client.post(url, data, **HTMX)


def _sent_to_set_up(response, required: str) -> bool:
    if response.status_code == 405:  # the method is refused before anything else
        return True
    if response.get("HX-Redirect") == required:
        return response.status_code == 200 and not response.content
    return response.status_code == 303 and response.get("Location") == required


@pytest.mark.parametrize(("route", "name"), [pytest.param(*r, id=r[1]) for r in WORKSPACE_ROUTES])
def test_a_manager_without_two_factor_reaches_no_page_until_set_up(
    world: World, route: str, name: str
):
    Workspace.objects.filter(pk=world.acme.workspace.pk).update(
        two_factor_policy=TwoFactorPolicy.ADMINS_AND_MANAGERS
    )
    required = reverse("accounts:two_factor_required", kwargs={"slug": "acme"})
    url = _url(route, world, world.acme)
    rule_ = CONSOLE[name]
    data = _data(rule_, world)
    client = signed_in(world.manager)
    baseline = snapshot()
    failures = []
    for how, response in _requests(client, url, data):
        if not _sent_to_set_up(response, required):
            failures.append(f"{how} {url} -> {response.status_code}: not sent to set up 2FA")
    changed = changes(baseline, snapshot())
    if changed:
        failures.append(f"refused requests changed {changed}")

    enrol_totp(world.manager)
    for method, need in (("get", rule_.get), ("post", rule_.post)):
        for headers in ({}, HTMX):
            with rolled_back():
                response = getattr(client, method)(
                    url, *([data] if method == "post" else []), **headers
                )
            how = method.upper() + (" HTMX" if headers else "")
            cell = f"after set-up {how} {url} -> {response.status_code}"
            if response.status_code >= 500:
                failures.append(f"{cell}: server error")
            elif required in (response.get("Location", ""), response.get("HX-Redirect", "")):
                failures.append(f"{cell}: still sent to set up 2FA")
            elif need <= Need.MANAGER and response.status_code in (403, 404, 405):
                failures.append(f"{cell}: refused, but a Manager may ({need.name})")
    assert not failures, "\n".join(failures)
