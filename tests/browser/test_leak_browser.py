"""A leak reported by GitHub while an Admin looks at Settings → Tokens, in real Chromium.

The report is signed with a key made here and posted to the live server as GitHub
would post it (raw bytes, signature headers, no session); the Tokens tab then
shows the token revoked with the reason "Leaked".
"""

from __future__ import annotations

import base64
import json
import urllib.request

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from playwright.sync_api import Page, expect

from tests.factories import issue
from tokens.models import RevokeReason

pytestmark = pytest.mark.playwright

KEY_ID = "browser-test-key"
LEAK_URL = "https://github.com/octo-org/octo-repo/blob/main/.env"


@pytest.fixture
def github_signing_key(tmp_path, settings) -> ec.EllipticCurvePrivateKey:
    """Make a P-256 key and publish its public half in the key list file the server reads."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    path = tmp_path / "secret_scanning_keys.json"
    path.write_text(
        json.dumps({"public_keys": [{"key_identifier": KEY_ID, "key": pem, "is_current": True}]})
    )
    settings.KEYWARD_GITHUB_SECRET_SCANNING_KEYS_FILE = str(path)
    return key


def post_leak_report(live_server, key: ec.EllipticCurvePrivateKey, secret: str) -> list[dict]:
    """POST a report naming `secret`, signed as GitHub signs it; return the answer."""
    body = json.dumps(
        [{"token": secret, "type": "keyward_workspace_token", "url": LEAK_URL, "source": "content"}]
    ).encode()
    signature = base64.b64encode(key.sign(body, ec.ECDSA(hashes.SHA256()))).decode()
    request = urllib.request.Request(  # noqa: S310 (the live server's http URL)
        f"{live_server.url}/integrations/github/secret-scanning/",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Github-Public-Key-Identifier": KEY_ID,
            "Github-Public-Key-Signature": signature,
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert response.status == 200
        return json.loads(response.read())


def test_a_leak_reported_by_github_shows_as_revoked_leaked_in_the_tokens_tab(
    signed_in_page, live_server, workspace, admin_user, github_signing_key, screenshots_dir
):
    token, secret = issue(admin_user, workspace, "ci-deploy")
    bystander, _ = issue(admin_user, workspace, "nightly-backup")
    page: Page = signed_in_page(admin_user)
    console_errors = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    # All statuses, so that the row stays in the list once it is revoked.
    page.goto(f"{live_server.url}/w/{workspace.slug}/settings/tokens/?status=all")
    row = page.locator(f"#token-{token.public_id}")
    expect(row.locator(".status")).to_have_text("Active")
    expect(row.get_by_role("link", name="Revoke ci-deploy")).to_have_count(1)
    page.evaluate("window.__keywardNoReload = true")

    answer = post_leak_report(live_server, github_signing_key, secret)

    assert answer == [
        {"token_raw": secret, "token_type": "keyward_workspace_token", "label": "true_positive"}
    ]
    token.refresh_from_db()
    assert token.revoke_reason == RevokeReason.LEAK

    # The list refreshes itself on `tokens:changed`, as it does after a console action.
    page.evaluate("document.body.dispatchEvent(new CustomEvent('tokens:changed'))")
    row = page.locator(f"#token-{token.public_id}")
    expect(row.locator(".status")).to_have_text("Revoked")
    expect(row).to_contain_text("Leaked")
    expect(row.get_by_role("link", name="Revoke ci-deploy")).to_have_count(0)
    expect(page.locator(f"#token-{bystander.public_id} .status")).to_have_text("Active")
    assert page.evaluate("window.__keywardNoReload === true"), "the page was reloaded"
    assert secret not in page.content()

    # A reload shows the same: the revocation is stored, not only drawn.
    page.reload()
    row = page.locator(f"#token-{token.public_id}")
    expect(row.locator(".status")).to_have_text("Revoked")
    expect(row).to_contain_text("Leaked")
    row.scroll_into_view_if_needed()
    path = screenshots_dir / "tokens-leak-revoked.png"
    page.screenshot(path=path, full_page=True)
    assert path.stat().st_size > 0

    # The default view lists active tokens only: the leaked one has left it.
    page.goto(f"{live_server.url}/w/{workspace.slug}/settings/tokens/")
    expect(page.locator(f"#token-{bystander.public_id}")).to_be_visible()
    expect(page.locator(f"#token-{token.public_id}")).to_have_count(0)
    assert console_errors == []
