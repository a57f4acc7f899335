"""Never a secret in any log: a whole browser session's log records, searched for its secrets.

Every record of every logger at every level (the request log included) is kept
while an Admin signs in, creates a token and reveals it, calls the API with it (in
the header, by mistake in a query string, in an introspection body), has the API
makes a token, rotates one, revokes one and uses it after. Then each secret issued
on the way, and the password, is looked for in what the log would have written.
"""

from __future__ import annotations

import logging

import pytest
from playwright.sync_api import Page, expect

from ops.logs import JsonFormatter, PathFilter, RequestIdFilter
from tests.browser.helpers import dialog
from tests.browser.test_tokens_browser import create_token, revealed_secret
from tests.conftest import PASSWORD
from tests.factories import issue
from tokens.models import Token

pytestmark = pytest.mark.playwright


class Everything(logging.Handler):
    """Keep each record as the JSON and the text formats would write it."""

    def __init__(self) -> None:
        super().__init__(level=logging.NOTSET)
        self.addFilter(RequestIdFilter())
        self.addFilter(PathFilter())
        self.json = JsonFormatter()
        self.text = logging.Formatter("%(levelname)s %(name)s [%(request_id)s] %(message)s")
        self.written: list[str] = []
        self.loggers: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        self.loggers.add(record.name)
        self.written.append(self.json.format(record))
        self.written.append(self.text.format(record))


@pytest.fixture
def everything_logged():
    handler = Everything()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_no_secret_of_a_browser_session_reaches_the_log(
    page: Page, live_server, admin_user, workspace, everything_logged
):
    url = live_server.url
    tokens_url = f"{url}/w/{workspace.slug}/settings/tokens/"
    scopes = ["tokens:introspect", "tokens:read", "tokens:write"]
    _, automation = issue(admin_user, workspace, "automation", scopes=scopes)
    secrets = [automation]

    # Sign in through the form, after one wrong password.
    page.goto(f"{url}/accounts/login/")
    page.locator("#id_username").fill(admin_user.email)
    page.locator("#id_password").fill(PASSWORD + "-wrong")
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(f"{url}/w/{workspace.slug}/")

    # Create a token and reveal it.
    page.goto(tokens_url)
    create_token(page, "ci-deploy")
    created = revealed_secret(page)
    secrets.append(created)
    dialog(page).get_by_role("link", name="Done").click()

    # Use it: in the header, in a query string, in an introspection body; make a token.
    api = page.request
    bearer = {"Authorization": f"Bearer {created}"}
    assert api.get(f"{url}/api/v1/whoami?access_token={created}", headers=bearer).status == 200
    introspected = api.post(
        f"{url}/api/v1/introspect",
        headers={"Authorization": f"Bearer {automation}"},
        form={"token": created},
    )
    assert introspected.json()["active"] is True
    made = api.post(
        f"{url}/api/v1/tokens",
        headers={"Authorization": f"Bearer {automation}"},
        data={"name": "made-by-api", "scopes": ["tokens:read"]},
    )
    assert made.status == 201, made.text()
    secrets.append(made.json()["token"])

    # Rotate it in the console: a new secret.
    page.get_by_role("link", name="Rotate ci-deploy").click()
    dialog(page).get_by_role("button", name="Rotate token").click()
    expect(dialog(page).get_by_role("heading", name="Copy your new token")).to_be_visible()
    rotated = revealed_secret(page)
    secrets.append(rotated)
    dialog(page).get_by_role("link", name="Done").click()
    expect(dialog(page)).to_be_hidden()

    # Revoke the new one, then use it: refused, and the refusal is logged.
    new = Token.objects.get(rotated_from__name="ci-deploy", revoked_at__isnull=True)
    page.locator(f"#revoke-{new.public_id}").click()
    dialog(page).get_by_role("button", name="Revoke token").click()
    expect(dialog(page)).to_be_hidden()
    refused = api.get(f"{url}/api/v1/whoami", headers={"Authorization": f"Bearer {rotated}"})
    assert refused.status == 401

    written = "\n".join(everything_logged.written)
    # The capture saw the session: request lines, the refusal, the failed sign-in.
    assert {"keyward.requests", "keyward.tokens.api"} <= everything_logged.loggers
    assert '"route": "tokens:rotate"' in written and '"route": "api:introspect"' in written
    for secret in secrets:
        assert secret not in written
        assert secret[-30:] not in written  # not even without its prefix
    assert PASSWORD not in written
