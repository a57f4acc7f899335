"""The GitHub Secret Scanning partner endpoint: signatures, key rotation, revocation, answers.

Each test signs its report with an ECDSA P-256 key made here and publishes the
public half the way GitHub does (a key list document), from a file or, for key
rotation, from a real HTTP server on 127.0.0.1. The cache holding the key list
is cleared around every test by the autouse fixture in tests/conftest.py.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings as django_settings
from django.core import mail
from django.core.cache import cache
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts.models import AuditEvent, Membership, User
from accounts.roles import Role
from bench.fixtures import workspace_tokens_in_bulk
from tests.conftest import make_member
from tests.factories import actor_of, issue
from tokens import scanning, secrets, services
from tokens.models import LeakReport, RevokeReason, Token, TokenKind, TokenStatus

ENDPOINT = "/integrations/github/secret-scanning/"
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
DOC = Path(__file__).resolve().parents[2] / "docs" / "secret-scanning.md"
LEAK_URL = "https://github.com/octo-org/octo-repo/blob/main/deploy/.env"
WORKSPACE_TYPE = "keyward_workspace_token"
PERSONAL_TYPE = "keyward_personal_token"
TOKEN_TABLE = f'FROM "{Token._meta.db_table}"'

pytestmark = pytest.mark.django_db


# Signing keys and reports ----------------------------------------------------------


@dataclass(frozen=True)
class GitHubKey:
    """One of GitHub's signing keys: a private half to sign with, a public half to publish."""

    identifier: str
    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )

    def pem(self) -> str:
        return (
            self.private_key.public_key()
            .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )

    def sign(self, body: bytes) -> str:
        """Return the base64 DER ECDSA signature GitHub would send for `body`."""
        return base64.b64encode(self.private_key.sign(body, ec.ECDSA(hashes.SHA256()))).decode()


def key_list(*keys: GitHubKey) -> bytes:
    """Return GitHub's key list document publishing `keys`, the last one current."""
    return json.dumps(
        {
            "public_keys": [
                {"key_identifier": key.identifier, "key": key.pem(), "is_current": i == len(keys)}
                for i, key in enumerate(keys, start=1)
            ]
        }
    ).encode()


def entry(token: str, kind: str = WORKSPACE_TYPE, url: str = LEAK_URL, source: str = "content"):
    return {"token": token, "type": kind, "url": url, "source": source}


def encode(report) -> bytes:
    return report if isinstance(report, bytes) else json.dumps(report).encode()


def well_formed_unknown(kind: str = TokenKind.WORKSPACE) -> str:
    """Return a value with our format and a right checksum that no token has."""
    return secrets.generate(django_settings.KEYWARD_TOKEN_PREFIX, kind)


def tampered(value: str) -> str:
    """Return `value` with one character of its random part changed: the checksum fails."""
    position = 10
    replacement = "B" if value[position] == "A" else "A"
    return value[:position] + replacement + value[position + 1 :]


@pytest.fixture
def github_key() -> GitHubKey:
    return GitHubKey("90a421169f0a406205f1563a953312f0be898d3c7b6c06b681aa86a874555f4a")


@pytest.fixture
def keys_file(tmp_path, settings, github_key) -> Path:
    """Publish `github_key` in a key list file; the URL points nowhere, to prove it is unused."""
    path = tmp_path / "secret_scanning_keys.json"
    path.write_bytes(key_list(github_key))
    settings.KEYWARD_GITHUB_SECRET_SCANNING_KEYS_FILE = str(path)
    settings.KEYWARD_GITHUB_SECRET_SCANNING_KEYS_URL = "http://127.0.0.1:9/unused"
    return path


@pytest.fixture
def send(client, github_key):
    """Return `send(report, *, key=..., headers=...)`: POST a report signed as GitHub would."""

    def post(report, *, key: GitHubKey | None = None, body: bytes | None = None, headers=None):
        key = key or github_key
        payload = encode(report)
        signed = {
            "Github-Public-Key-Identifier": key.identifier,
            "Github-Public-Key-Signature": key.sign(payload),
        }
        return client.post(
            ENDPOINT,
            data=payload if body is None else body,
            content_type="application/json",
            headers=signed if headers is None else headers,
        )

    return post


@pytest.fixture
def leaked(workspace, manager_user) -> tuple[Token, str]:
    """Return an active workspace token (created by a Manager) and its secret."""
    return issue(manager_user, workspace, name="ci-deploy")


def state() -> tuple:
    """Return everything a refused report must leave unchanged."""
    return (
        list(Token.objects.order_by("pk").values_list("pk", "revoked_at", "revoke_reason")),
        AuditEvent.objects.count(),
        LeakReport.objects.count(),
    )


def revoke_events(token: Token):
    return AuditEvent.objects.filter(action="token.revoked", target_id=token.public_id)


def token_selects(captured: CaptureQueriesContext) -> int:
    return sum(
        1
        for query in captured.captured_queries
        if query["sql"].lstrip().upper().startswith("SELECT") and TOKEN_TABLE in query["sql"]
    )


def leak_emails():
    return [m for m in mail.outbox if "was found in public and revoked" in m.subject]


# A valid report ---------------------------------------------------------------------


def test_a_report_is_verified_and_acted_on_while_redis_is_down(
    redis_cache, keys_file, send, leaked
):
    token, secret = leaked
    redis_cache.stop()  # the key list cannot be cached: it is read for this report

    response = send([entry(secret, source="commit")])

    assert response.status_code == 200
    assert response.json()[0]["label"] == "true_positive"
    token.refresh_from_db()
    assert token.status() == TokenStatus.REVOKED


def test_a_signed_report_revokes_the_active_token_and_audits_where_it_was_found(
    keys_file, send, leaked
):
    token, secret = leaked

    response = send([entry(secret, source="commit")])

    assert response.status_code == 200
    assert response.json() == [
        {"token_raw": secret, "token_type": WORKSPACE_TYPE, "label": "true_positive"}
    ]
    token.refresh_from_db()
    assert token.status() == TokenStatus.REVOKED
    assert token.revoke_reason == RevokeReason.LEAK
    assert token.get_revoke_reason_display() == "Leaked"
    assert token.revoked_by is None  # GitHub, not a person
    event = revoke_events(token).get()
    assert event.details["reason"] == "leak"
    assert event.details["url"] == LEAK_URL
    assert event.details["source"] == "commit"
    assert event.details["found_by"] == "github"
    assert event.actor_user is None
    assert "GitHub" in event.actor_label
    # The token stopped working: the API refuses it.
    api = Client().get("/api/v1/whoami", headers={"Authorization": f"Bearer {secret}"})
    assert api.status_code == 401


def test_the_answer_labels_each_reported_value_once_in_order_and_says_nothing_else(
    keys_file, send, workspace, manager_user, member_user, other_workspace, outsider
):
    workspace_token, workspace_secret = issue(manager_user, workspace, name="ci-deploy")
    _, personal_secret = issue(
        member_user, workspace, name="laptop", kind=TokenKind.PERSONAL, scopes=["tokens:read"]
    )
    _, elsewhere_secret = issue(outsider, other_workspace, name="globex-ci")
    unknown = well_formed_unknown()
    report = [
        entry("not a keyward token at all", kind="other_type"),
        entry(workspace_secret),
        entry(unknown),
        entry(personal_secret, kind=PERSONAL_TYPE),
        entry(tampered(workspace_secret)),
        entry("ghp_" + "a" * 36, kind="github_personal_access_token"),
        entry(elsewhere_secret),
    ]

    response = send(report)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    answer = response.json()
    assert answer == [
        {"token_raw": item["token"], "token_type": item["type"], "label": label}
        for item, label in zip(
            report,
            [
                "false_positive",
                "true_positive",
                "false_positive",
                "true_positive",
                "false_positive",
                "false_positive",
                "true_positive",
            ],
            strict=True,
        )
    ]
    # Nothing about the tokens or their workspaces: exactly these three keys.
    assert all(set(item) == {"token_raw", "token_type", "label"} for item in answer)
    body = response.content.decode()
    for private in (workspace_token.public_id, workspace_token.name):
        assert private not in body
    assert Token.objects.active().filter(workspace=workspace).count() == 0
    assert Token.objects.active().filter(workspace=other_workspace).count() == 0


def test_the_endpoint_needs_no_csrf_token_and_only_accepts_post(keys_file, github_key, leaked):
    _, secret = leaked
    body = encode([entry(secret)])
    headers = {
        "Github-Public-Key-Identifier": github_key.identifier,
        "Github-Public-Key-Signature": github_key.sign(body),
    }
    client = Client(enforce_csrf_checks=True)

    assert client.get(ENDPOINT, headers=headers).status_code == 405
    response = client.post(ENDPOINT, body, content_type="application/json", headers=headers)
    assert response.status_code == 200
    assert response.json()[0]["label"] == "true_positive"


def test_a_token_in_its_rotation_grace_period_is_revoked_at_once(
    keys_file, send, leaked, workspace
):
    old, old_secret = leaked
    services.token_rotate(actor=actor_of(old.created_by, workspace), token=old, grace="7d")
    old.refresh_from_db()
    assert old.is_active  # still working for a week

    response = send([entry(old_secret)])

    assert response.json()[0]["label"] == "true_positive"
    old.refresh_from_db()
    assert old.revoked_at <= timezone.now()
    assert old.revoke_reason == RevokeReason.LEAK
    assert not old.is_active


# Refused signatures --------------------------------------------------------------------


def assert_refused(response, before) -> None:
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_signature"
    assert state() == before


def test_a_report_signed_by_another_key_is_refused_and_changes_nothing(
    keys_file, send, leaked, github_key
):
    _, secret = leaked
    impostor = GitHubKey(github_key.identifier)  # same identifier, another private key
    before = state()

    assert_refused(send([entry(secret)], key=impostor), before)


def test_a_tampered_body_is_refused(keys_file, send, leaked, workspace, manager_user):
    _, secret = leaked
    _, other_secret = issue(manager_user, workspace, name="other")
    signed = encode([entry(secret)])
    before = state()

    # GitHub signed a report about `secret`; someone swaps in another value.
    swapped = signed.replace(secret.encode(), other_secret.encode())
    assert_refused(send([entry(secret)], body=swapped), before)
    # Even a change to whitespace breaks the signature: it covers the raw bytes.
    assert_refused(send([entry(secret)], body=signed + b" "), before)


@pytest.mark.parametrize(
    "missing",
    [
        ["Github-Public-Key-Identifier", "Github-Public-Key-Signature"],
        ["Github-Public-Key-Identifier"],
        ["Github-Public-Key-Signature"],
    ],
)
def test_missing_signature_headers_are_refused(keys_file, send, leaked, github_key, missing):
    _, secret = leaked
    body = encode([entry(secret)])
    headers = {
        "Github-Public-Key-Identifier": github_key.identifier,
        "Github-Public-Key-Signature": github_key.sign(body),
    }
    before = state()

    response = send(body, headers={k: v for k, v in headers.items() if k not in missing})

    assert_refused(response, before)


@pytest.mark.parametrize(
    "signature",
    [
        "not base64 at all!",
        "MEUCIQ===",  # bad padding
        base64.b64encode(b"valid base64, not a DER signature").decode(),
        "",
    ],
)
def test_a_signature_that_cannot_be_decoded_is_refused(
    keys_file, send, leaked, github_key, signature
):
    _, secret = leaked
    headers = {
        "Github-Public-Key-Identifier": github_key.identifier,
        "Github-Public-Key-Signature": signature,
    }
    before = state()

    assert_refused(send([entry(secret)], headers=headers), before)


def test_an_unknown_key_identifier_is_refused_when_the_list_does_not_have_it(
    keys_file, send, leaked
):
    _, secret = leaked
    before = state()

    assert_refused(send([entry(secret)], key=GitHubKey("unknown-key")), before)


# Key lists: file, URL, rotation -----------------------------------------------------


@dataclass
class KeyListServer:
    """What the local stand-in for api.github.com serves, and how often it was asked."""

    document: bytes = b'{"public_keys": []}'
    status: int = 200
    requests: int = 0
    paths: list[str] = field(default_factory=list)


@pytest.fixture
def key_list_server(settings):
    """Serve a key list over HTTP on 127.0.0.1 and point the URL setting at it (no file)."""
    served = KeyListServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            served.requests += 1
            served.paths.append(self.path)
            self.send_response(served.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(served.document)))
            self.end_headers()
            self.wfile.write(served.document)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.KEYWARD_GITHUB_SECRET_SCANNING_KEYS_FILE = ""
    settings.KEYWARD_GITHUB_SECRET_SCANNING_KEYS_URL = (
        f"http://127.0.0.1:{server.server_port}/meta/public_keys/secret_scanning"
    )
    yield served
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_keys_are_fetched_from_the_url_once_and_cached(key_list_server, send, github_key, leaked):
    _, secret = leaked
    key_list_server.document = key_list(github_key)

    assert send([entry(secret)]).status_code == 200
    assert send([entry(well_formed_unknown())]).status_code == 200

    assert key_list_server.requests == 1
    assert key_list_server.paths == ["/meta/public_keys/secret_scanning"]


def test_an_unknown_key_identifier_fetches_the_list_again_when_github_rotates_its_keys(
    key_list_server, send, workspace, manager_user
):
    old_key, new_key = GitHubKey("old-key"), GitHubKey("new-key")
    _, first_secret = issue(manager_user, workspace, name="first")
    second, second_secret = issue(manager_user, workspace, name="second")
    key_list_server.document = key_list(old_key)
    assert send([entry(first_secret)], key=old_key).status_code == 200
    assert key_list_server.requests == 1

    # GitHub rotates: the list now has the new key, and reports are signed with it.
    key_list_server.document = key_list(old_key, new_key)
    response = send([entry(second_secret)], key=new_key)

    assert key_list_server.requests == 2  # the unknown identifier made Keyward look again
    assert response.status_code == 200
    assert response.json()[0]["label"] == "true_positive"
    second.refresh_from_db()
    assert second.revoke_reason == RevokeReason.LEAK
    # The refreshed list is cached: the next report signed with the new key costs no fetch.
    assert send([entry(well_formed_unknown())], key=new_key).status_code == 200
    assert key_list_server.requests == 2


def test_unknown_key_identifiers_fetch_the_list_at_most_once_a_minute(
    key_list_server, send, github_key, leaked
):
    _, secret = leaked
    key_list_server.document = key_list(github_key)
    assert send([entry(well_formed_unknown())]).status_code == 200
    before = state()

    first = send([entry(secret)], key=GitHubKey("forged-1"))
    second = send([entry(secret)], key=GitHubKey("forged-2"))

    assert_refused(first, before)
    assert_refused(second, before)
    assert key_list_server.requests == 2  # the first load, then one refetch, not one per report
    assert send([entry(secret)]).status_code == 200  # the known key still works


def test_an_unreachable_key_list_refuses_the_report(key_list_server, send, github_key, leaked):
    _, secret = leaked
    key_list_server.status = 503
    before = state()

    assert_refused(send([entry(secret)]), before)
    assert key_list_server.requests == 1


def test_an_hourly_reload_that_fails_keeps_the_known_keys(
    key_list_server, send, github_key, leaked, settings
):
    _, secret = leaked
    key_list_server.document = key_list(github_key)
    assert send([entry(well_formed_unknown())]).status_code == 200
    # The list is older than KEYWARD_GITHUB_SECRET_SCANNING_KEYS_TTL, and GitHub is down.
    cache.delete(scanning.KEYS_FRESH_KEY)
    key_list_server.status = 503

    assert send([entry(secret)]).status_code == 200
    assert send([entry(well_formed_unknown())]).status_code == 200
    assert key_list_server.requests == 2  # one reload attempt, then a minute's wait

    # A minute later GitHub answers again: the list is reloaded and fresh for another TTL.
    cache.delete(scanning.REFETCH_GUARD_KEY)
    key_list_server.status = 200
    assert send([entry(well_formed_unknown())]).status_code == 200
    assert send([entry(well_formed_unknown())]).status_code == 200
    assert key_list_server.requests == 3


def test_an_unreachable_key_list_is_asked_again_after_a_minute_not_on_every_report(
    key_list_server, send, github_key, leaked
):
    _, secret = leaked
    key_list_server.status = 503
    before = state()

    for _ in range(3):
        assert_refused(send([entry(secret)]), before)
    assert key_list_server.requests == 1  # the failure is remembered, not retried per report

    # A minute later (the remembered failure and the retry guard have expired) GitHub is back.
    cache.delete_many([scanning.KEYS_CACHE_KEY, scanning.REFETCH_GUARD_KEY])
    key_list_server.status = 200
    key_list_server.document = key_list(github_key)
    assert send([entry(secret)]).status_code == 200
    assert key_list_server.requests == 2


def test_a_failed_refetch_keeps_the_keys_already_known(key_list_server, send, github_key, leaked):
    _, secret = leaked
    key_list_server.document = key_list(github_key)
    assert send([entry(well_formed_unknown())]).status_code == 200
    key_list_server.status = 503
    before = state()

    assert_refused(send([entry(secret)], key=GitHubKey("rotated")), before)

    assert key_list_server.requests == 2
    assert send([entry(secret)]).status_code == 200  # the cached key still verifies reports
    assert key_list_server.requests == 2


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(b"not json", id="not-json"),
        pytest.param(b"[]", id="array"),
        pytest.param(b'{"public_keys": null}', id="null-list"),
    ],
)
def test_a_malformed_key_list_refuses_the_report_instead_of_failing(
    key_list_server, send, leaked, document
):
    _, secret = leaked
    key_list_server.document = document
    before = state()

    assert_refused(send([entry(secret)]), before)


def test_the_key_file_takes_precedence_over_the_url(key_list_server, settings, tmp_path, send):
    file_key, url_key = GitHubKey("from-file"), GitHubKey("from-url")
    path = tmp_path / "keys.json"
    path.write_bytes(key_list(file_key))
    settings.KEYWARD_GITHUB_SECRET_SCANNING_KEYS_FILE = str(path)
    key_list_server.document = key_list(url_key)
    report = [entry(well_formed_unknown())]

    assert send(report, key=file_key).status_code == 200
    assert send(report, key=url_key).status_code == 401
    assert key_list_server.requests == 0


# Malformed and oversized bodies -----------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"this is not json", id="not-json"),
        pytest.param(b"\xff\xfe\xfa", id="not-utf8"),
        pytest.param(b"", id="empty"),
        pytest.param(encode({"token": "kww_x", "type": WORKSPACE_TYPE}), id="object"),
        pytest.param(encode(["kww_x"]), id="entry-not-object"),
        pytest.param(encode([{"type": WORKSPACE_TYPE, "url": LEAK_URL}]), id="missing-token"),
        pytest.param(encode([{"token": "kww_x", "url": LEAK_URL}]), id="missing-type"),
        pytest.param(encode([{"token": 42, "type": WORKSPACE_TYPE}]), id="token-not-string"),
        pytest.param(
            encode([{"token": "kww_x", "type": WORKSPACE_TYPE, "url": ["x"]}]),
            id="url-not-string",
        ),
        pytest.param(
            encode([{"token": "kww_x", "type": WORKSPACE_TYPE, "source": 7}]),
            id="source-not-string",
        ),
    ],
)
def test_a_malformed_body_is_a_400_with_a_json_error(keys_file, send, leaked, body):
    before = state()

    response = send(body)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == "invalid_request"
    assert response.json()["message"]
    assert state() == before


def test_one_bad_entry_refuses_the_whole_report(keys_file, send, leaked):
    token, secret = leaked

    response = send([entry(secret), {"token": secret, "type": WORKSPACE_TYPE, "url": None}])

    assert response.status_code == 400
    token.refresh_from_db()
    assert token.is_active


def test_a_body_over_the_limit_is_a_413_and_changes_nothing(keys_file, send, settings, leaked):
    _, secret = leaked
    settings.KEYWARD_GITHUB_SECRET_SCANNING_MAX_BODY = 1024
    report = encode([entry(secret)])
    at_limit = report + b" " * (1024 - len(report))
    before = state()

    response = send(at_limit + b" ")

    assert response.status_code == 413
    assert response.json()["error"] == "too_large"
    assert state() == before
    # Exactly at the limit is accepted.
    accepted = send(at_limit)
    assert accepted.status_code == 200
    assert accepted.json()[0]["label"] == "true_positive"


# Spellings of a length that `int` reads but a Content-Length header may not hold.
LENGTH_SPELLINGS = {
    "arabic-indic": lambda n: str(n).translate(ARABIC_INDIC),
    "underscore": lambda n: f"{str(n)[0]}_{str(n)[1:]}",
    "plus": lambda n: f"+{n}",
}


@pytest.mark.parametrize("spell", LENGTH_SPELLINGS.values(), ids=LENGTH_SPELLINGS.keys())
def test_a_content_length_not_in_ascii_digits_is_a_413(
    client, github_key, keys_file, leaked, spell
):
    _, secret = leaked
    report = encode([entry(secret)])
    before = state()

    response = client.post(
        ENDPOINT,
        data=report,
        content_type="application/json",
        headers={
            "Github-Public-Key-Identifier": github_key.identifier,
            "Github-Public-Key-Signature": github_key.sign(report),
        },
        CONTENT_LENGTH=spell(len(report)),  # what `int` would still read as the length
    )

    assert response.status_code == 413
    assert response.json()["error"] == "too_large"
    assert state() == before


def test_the_default_limit_is_two_mebibytes(keys_file, send, leaked):
    before = state()

    response = send(b"[" + b" " * (2 * 1024 * 1024) + b"]")

    assert response.status_code == 413
    assert state() == before


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="deep-arrays"),
        pytest.param(b'[{"a":' * 50_000 + b"1" + b"}]" * 50_000, id="deep-objects"),
        pytest.param(b"[" * 100_000, id="deep-unclosed"),
        pytest.param(encode([[[[[]]]]]), id="one-level-too-deep"),
    ],
)
def test_a_signed_deeply_nested_body_is_a_400_not_a_crash(keys_file, send, leaked, body, debug):
    before = state()

    with override_settings(DEBUG=debug):
        response = send(body)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert state() == before


def test_brackets_in_strings_and_a_little_nesting_are_accepted(keys_file, send, leaked):
    _, secret = leaked
    report = [{**entry(secret, url='https://x/[[[[[[{{{{\\"]]]'), "extra": {"a": [1]}}]

    response = send(report)

    assert response.status_code == 200
    assert response.json()[0]["label"] == "true_positive"


def test_a_body_under_a_lying_content_length_is_still_bounded(settings):
    settings.KEYWARD_GITHUB_SECRET_SCANNING_MAX_BODY = 10

    with pytest.raises(scanning.ScanningError) as refused:
        scanning.parse_report(b'["01234567890"]')

    assert refused.value.status == 413


def test_a_body_over_djangos_upload_limit_is_a_413(keys_file, send, settings, leaked):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    before = state()

    response = send(encode([entry("x" * 200)]))

    assert response.status_code == 413
    assert response.json()["error"] == "too_large"
    assert state() == before


def test_a_token_reported_twice_is_answered_and_recorded_once(keys_file, send, leaked):
    _, secret = leaked
    unknown = well_formed_unknown()
    report = [entry(secret), entry(unknown), entry(secret, url=LEAK_URL + "#again"), entry(unknown)]

    response = send(report)

    assert response.status_code == 200
    assert [item["token_raw"] for item in response.json()] == [secret, unknown]
    assert response.json()[0]["label"] == "true_positive"
    stored = LeakReport.objects.get()
    assert stored.reported == 2
    assert [item["url"] for item in stored.entries] == [LEAK_URL, LEAK_URL]


def test_the_answer_naming_reported_secrets_is_not_stored_by_caches(keys_file, send, leaked):
    response = send([entry(leaked[1])])

    assert response.status_code == 200
    assert {"no-store", "private"} <= {
        part.strip() for part in response["Cache-Control"].split(",")
    }


# Repeated and late reports --------------------------------------------------------------


def test_a_repeated_delivery_is_harmless(
    keys_file, send, leaked, admin_user, django_capture_on_commit_callbacks
):
    token, secret = leaked
    report = [entry(secret), entry(well_formed_unknown()), entry("nope")]
    with django_capture_on_commit_callbacks(execute=True):
        first = send(report)
    token.refresh_from_db()
    revoked_at = token.revoked_at
    emails = len(leak_emails())

    with django_capture_on_commit_callbacks(execute=True):
        second = send(report)

    assert second.status_code == 200
    assert second.json() == first.json()
    token.refresh_from_db()
    assert token.revoked_at == revoked_at
    assert token.revoke_reason == RevokeReason.LEAK
    assert revoke_events(token).count() == 1
    assert len(leak_emails()) == emails == 1  # one email, to the creator and the Admin
    reports = list(LeakReport.objects.order_by("pk"))
    assert [(r.reported, r.ours, r.revoked) for r in reports] == [(3, 1, 1), (3, 1, 0)]


@pytest.mark.parametrize("how", ["revoked", "expired"])
def test_a_token_that_no_longer_works_is_a_true_positive_but_not_revoked_again(
    keys_file, send, leaked, workspace, manager_user, django_capture_on_commit_callbacks, how
):
    token, secret = leaked
    if how == "revoked":
        services.token_revoke(actor=actor_of(manager_user, workspace), token=token)
    else:
        Token.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    token.refresh_from_db()
    before = (token.revoked_at, token.revoke_reason, revoke_events(token).count())

    with django_capture_on_commit_callbacks(execute=True):
        response = send([entry(secret)])

    assert response.json()[0]["label"] == "true_positive"
    token.refresh_from_db()
    assert (token.revoked_at, token.revoke_reason, revoke_events(token).count()) == before
    assert token.status() == how
    assert leak_emails() == []
    report = LeakReport.objects.get()
    assert (report.ours, report.revoked) == (1, 0)


def test_a_concurrent_delivery_does_not_email_twice(
    keys_file, send, leaked, monkeypatch, django_capture_on_commit_callbacks
):
    token, secret = leaked
    original = services.tokens._revoke

    def revoked_meanwhile(**kwargs):
        # GitHub retried a slow delivery; the other request committed first.
        Token.objects.filter(pk=kwargs["token"].pk).update(
            revoked_at=timezone.now(), revoke_reason=RevokeReason.LEAK
        )
        return original(**kwargs)

    monkeypatch.setattr(services.tokens, "_revoke", revoked_meanwhile)

    with django_capture_on_commit_callbacks(execute=True):
        response = send([entry(secret)])

    assert response.json()[0]["label"] == "true_positive"
    assert revoke_events(token).count() == 0  # this delivery revoked nothing
    assert leak_emails() == []  # the other delivery emailed them already
    assert LeakReport.objects.get().revoked == 0


# Emails -----------------------------------------------------------------------------------


def test_the_creator_and_the_admins_of_a_workspace_token_are_emailed(
    keys_file,
    send,
    leaked,
    workspace,
    admin_user,
    member_user,
    outsider,
    django_capture_on_commit_callbacks,
):
    _, secret = leaked  # created by the Manager
    second_admin = make_member(workspace, "second-admin@example.com", Role.ADMIN)
    gone_admin = make_member(workspace, "gone-admin@example.com", Role.ADMIN)
    User.objects.filter(pk=gone_admin.pk).update(is_active=False)

    with django_capture_on_commit_callbacks(execute=True):
        response = send([entry(secret)])

    assert response.status_code == 200
    (email,) = leak_emails()
    assert sorted(email.to) == sorted(["manager@example.com", admin_user.email, second_admin.email])
    assert member_user.email not in email.to
    assert outsider.email not in email.to
    assert gone_admin.email not in email.to


def test_a_report_across_workspaces_emails_each_workspaces_admins_only_their_token(
    keys_file,
    send,
    leaked,
    workspace,
    admin_user,
    other_workspace,
    outsider,
    django_capture_on_commit_callbacks,
):
    acme_token, acme_secret = leaked
    globex_admin = make_member(other_workspace, "globex-admin@example.com", Role.ADMIN)
    globex_token, globex_secret = issue(globex_admin, other_workspace, name="globex-deploy")

    with django_capture_on_commit_callbacks(execute=True):
        assert send([entry(acme_secret), entry(globex_secret)]).status_code == 200

    by_token = {
        token.name: next(email for email in leak_emails() if token.name in email.subject)
        for token in (acme_token, globex_token)
    }
    assert admin_user.email in by_token[acme_token.name].to
    assert globex_admin.email not in by_token[acme_token.name].to
    assert outsider.email not in by_token[acme_token.name].to
    assert globex_admin.email in by_token[globex_token.name].to
    assert admin_user.email not in by_token[globex_token.name].to


def test_the_owner_and_the_admins_of_a_personal_token_are_emailed(
    keys_file, send, workspace, admin_user, member_user, django_capture_on_commit_callbacks
):
    _, secret = issue(member_user, workspace, name="laptop", kind=TokenKind.PERSONAL)

    with django_capture_on_commit_callbacks(execute=True):
        send([entry(secret, kind=PERSONAL_TYPE)])

    (email,) = leak_emails()
    assert sorted(email.to) == sorted([member_user.email, admin_user.email])


def test_the_email_names_the_token_and_where_it_was_found_and_what_to_do_never_its_value(
    keys_file, send, leaked, workspace, admin_user, django_capture_on_commit_callbacks
):
    token, secret = leaked

    with django_capture_on_commit_callbacks(execute=True):
        send([entry(secret)])

    (email,) = leak_emails()
    html, mimetype = email.alternatives[0]
    assert mimetype == "text/html"
    activity = f"/w/{workspace.slug}/settings/tokens/{token.public_id}/activity/"
    for text in (email.body, html):
        assert "ci-deploy" in text
        assert token.censored in text
        assert LEAK_URL in text
        assert "What to do next" in text
        assert "not misused" in text
        assert "Replace it" in text
        assert "Fix the process" in text
        assert activity in text
    assert "ci-deploy" in email.subject
    for part in (email.subject, email.body, html, email.message().as_string()):
        assert secret not in part
        assert secret[4:34] not in part  # not even the random part


def test_a_report_rolled_back_sends_no_email(
    keys_file, send, leaked, admin_user, monkeypatch, django_capture_on_commit_callbacks
):
    token, secret = leaked

    def broken_create(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(LeakReport.objects, "create", broken_create)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        send([entry(secret)])

    assert leak_emails() == []
    token.refresh_from_db()
    assert token.is_active


# The record kept ------------------------------------------------------------------------


def test_a_leak_report_is_recorded_without_any_reported_value(keys_file, send, leaked, github_key):
    token, secret = leaked
    unknown = well_formed_unknown()
    report = [entry(secret, source="commit"), entry(unknown), entry("hunter2", kind="password")]

    send(report)

    recorded = LeakReport.objects.get()
    assert recorded.key_identifier == github_key.identifier
    assert (recorded.reported, recorded.ours, recorded.revoked) == (3, 1, 1)
    assert recorded.duration_ms > 0
    assert recorded.entries == [
        {
            "token_id": token.public_id,
            "type": WORKSPACE_TYPE,
            "url": LEAK_URL,
            "source": "commit",
            "label": "true_positive",
        },
        {
            "token_id": "",
            "type": WORKSPACE_TYPE,
            "url": LEAK_URL,
            "source": "content",
            "label": "false_positive",
        },
        {
            "token_id": "",
            "type": "password",
            "url": LEAK_URL,
            "source": "content",
            "label": "false_positive",
        },
    ]
    stored = json.dumps(recorded.entries)
    for value in (secret, secret[4:34], unknown, "hunter2"):
        assert value not in stored


# Batches and queries --------------------------------------------------------------------


def test_a_batch_of_a_thousand_values_is_answered_in_order_with_one_lookup(
    keys_file, send, workspace, manager_user
):
    ours = workspace_tokens_in_bulk(workspace, manager_user, 100, "bulk")
    unknown = [well_formed_unknown() for _ in range(450)]
    junk = [f"junk-{i}" for i in range(450)]
    values = [*ours, *unknown, *junk]
    order = list(range(1000))
    order = order[::3] + order[1::3] + order[2::3]  # interleave ours, unknown and junk
    report = [entry(values[i]) for i in order]

    with CaptureQueriesContext(connection) as captured:
        response = send(report)

    assert response.status_code == 200
    answer = response.json()
    assert [item["token_raw"] for item in answer] == [values[i] for i in order]
    assert [item["label"] for item in answer] == [
        "true_positive" if i < 100 else "false_positive" for i in order
    ]
    assert Token.objects.active().filter(workspace=workspace).count() == 0
    assert Token.objects.filter(revoke_reason=RevokeReason.LEAK).count() == 100
    assert AuditEvent.objects.filter(action="token.revoked").count() == 100
    recorded = LeakReport.objects.get()
    assert (recorded.reported, recorded.ours, recorded.revoked) == (1000, 100, 100)
    # One query finds all the reported tokens; each revocation may re-read its own
    # token under a lock and look for the tokens it made, but nothing is looked up
    # per reported value.
    assert 1 <= token_selects(captured) <= 1 + 2 * 100


@pytest.mark.parametrize(("kind", "lookups"), [("well-formed", 1), ("junk", 0)])
def test_lookup_queries_do_not_grow_with_the_number_of_false_positives(
    keys_file, send, kind, lookups
):
    """Well-formed values cost one query in all; values that fail the checksum cost none."""

    def report_of(n: int):
        if kind == "well-formed":
            return [entry(well_formed_unknown()) for _ in range(n)]
        return [entry(f"junk-{i}") for i in range(n)]

    with CaptureQueriesContext(connection) as small:
        assert send(report_of(10)).status_code == 200
    with CaptureQueriesContext(connection) as large:
        assert send(report_of(1000)).status_code == 200

    assert token_selects(small) == token_selects(large) == lookups
    assert len(small.captured_queries) == len(large.captured_queries)


def test_each_revoked_token_costs_four_queries_and_the_admins_are_found_once(
    keys_file, send, workspace, manager_user
):
    """Lock, update, audit and find what it made per revoked token; the emails' Admins in
    one query per report."""

    def report_of(n: int, name: str) -> list[dict]:
        return [entry(issue(manager_user, workspace, name=f"{name}-{i}")[1]) for i in range(n)]

    few, many = report_of(2, "few"), report_of(12, "many")
    with CaptureQueriesContext(connection) as small:
        assert send(few).status_code == 200
    with CaptureQueriesContext(connection) as large:
        assert send(many).status_code == 200

    assert len(large.captured_queries) - len(small.captured_queries) == 4 * (12 - 2)
    membership_table = f'"{Membership._meta.db_table}"'
    assert sum(membership_table in q["sql"] for q in large.captured_queries) == 1


def test_a_report_is_answered_with_one_task_queued_for_all_its_emails(
    keys_file, send, workspace, manager_user, admin_user, settings
):
    """GitHub waits for no email: the report queues one task, whatever the number of tokens."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    queued = DBTaskResult.objects.filter(task_path="tokens.tasks.email_about_tokens")

    def report_of(n: int, name: str) -> list[dict]:
        return [entry(issue(manager_user, workspace, name=f"{name}-{i}")[1]) for i in range(n)]

    queries = []
    for report in (report_of(2, "few"), report_of(30, "many")):
        queued.delete()  # the "created" emails
        mail.outbox.clear()

        with CaptureQueriesContext(connection) as captured:
            response = send(report)

        assert response.status_code == 200
        queries.append(len(captured.captured_queries))
        [task] = queued
        emails = task.args_kwargs["args"][1]
        assert len(emails) == len(report)
        assert {tuple(email["to"]) for email in emails} == {
            ("admin@example.com", "manager@example.com")
        }
        assert mail.outbox == []  # sent by the worker, after the answer
        stored = json.dumps(task.args_kwargs)
        assert not any(item["token"][4:] in stored for item in report)
    # Each revoked token costs its four queries; the emails cost one insert per report.
    assert queries[1] - queries[0] == 4 * (30 - 2)


# The onboarding document ----------------------------------------------------------------


def documented_expressions() -> dict[str, str]:
    """Return the regular expressions of docs/secret-scanning.md's table, by row label."""
    rows = re.findall(
        r"^\|\s*(Regular expression[^|]*|One expression[^|]*)\|\s*`([^`]+)`", DOC.read_text(), re.M
    )
    return {label.strip(): expression for label, expression in rows}


def test_the_documented_expressions_match_fresh_tokens_and_not_broken_ones(workspace, manager_user):
    expressions = documented_expressions()
    assert set(expressions) == {
        "Regular expression, workspace tokens",
        "Regular expression, personal tokens",
        "One expression for both",
    }
    both = re.compile(expressions["One expression for both"])
    assert both.pattern == secrets.token_pattern(django_settings.KEYWARD_TOKEN_PREFIX)
    _, workspace_secret = issue(manager_user, workspace, name="scanner-check")
    _, personal_secret = issue(
        manager_user, workspace, name="scanner-personal", kind=TokenKind.PERSONAL
    )
    samples = {
        "Regular expression, workspace tokens": workspace_secret,
        "Regular expression, personal tokens": personal_secret,
    }

    for label, secret in samples.items():
        pattern = re.compile(expressions[label])
        for expression in (pattern, both):
            assert expression.fullmatch(secret)
            # Found where a scanner finds it: inside a line of a file.
            assert expression.search(f"KEYWARD_TOKEN={secret}\n").group() == secret
            assert expression.search(f'token: "{secret}"').group() == secret
            # Broken copies do not match: cut, lengthened, bad character, other prefix.
            for broken in (
                secret[:-1],
                secret + "x",
                secret[:20] + "-" + secret[21:],
                "zz" + secret[2:],
                "x" + secret,
            ):
                assert not expression.search(broken), broken
    # A workspace expression does not take a personal token, nor the reverse.
    assert not re.search(expressions["Regular expression, workspace tokens"], personal_secret)
    assert not re.search(expressions["Regular expression, personal tokens"], workspace_secret)
    # One character changed inside the body still has the shape (a regex cannot check
    # a CRC), but the checksum the document describes tells it apart, before any query.
    parser = secrets.TokenParser(django_settings.KEYWARD_TOKEN_PREFIX)
    assert parser.parse(workspace_secret)
    assert both.fullmatch(tampered(workspace_secret))
    assert parser.parse(tampered(workspace_secret)) is None
    assert not services.secrets_look_valid(tampered(workspace_secret))


def test_a_report_larger_than_one_lookup_is_looked_up_in_chunks(
    keys_file, send, workspace, manager_user, monkeypatch
):
    # Databases cap the parameters of one query (SQLite: 32,766); a 2 MiB report could
    # name more well-formed values than that, so the lookup goes in chunks.
    monkeypatch.setattr(services.tokens, "LOOKUP_CHUNK", 2)
    ours = workspace_tokens_in_bulk(workspace, manager_user, 5, "bulk")

    response = send([entry(value) for value in [*ours, well_formed_unknown()]])

    assert [item["label"] for item in response.json()] == ["true_positive"] * 5 + ["false_positive"]
    assert Token.objects.filter(revoke_reason=RevokeReason.LEAK).count() == 5


def test_control_characters_in_where_it_was_found_are_not_stored(keys_file, send, leaked):
    token, secret = leaked

    response = send([entry(secret, url="https://example.com/a\x00b", source="com\u202emit\n")])

    assert response.status_code == 200
    event = revoke_events(token).get()
    assert (event.details["url"], event.details["source"]) == ("https://example.com/a b", "com mit")
