"""Benchmark the GitHub Secret Scanning endpoint with a signed report of 1,000 values."""

from __future__ import annotations

import base64
import json
import statistics
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.core import mail
from django.db import connection
from django.test import Client, override_settings

from bench.fixtures import bench_workspace, workspace_tokens_in_bulk
from bench.measure import QueryCounter, header, row

ENDPOINT = "/integrations/github/secret-scanning/"
KEY_ID = "bench-key"
OURS, UNKNOWN = 100, 900


class Signer:
    """Sign bodies as GitHub does (ECDSA P-256, SHA-256, base64 DER) and publish the key."""

    def __init__(self) -> None:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        self._key = ec.generate_private_key(ec.SECP256R1())
        self._algorithm = ec.ECDSA(hashes.SHA256())
        self.pem = (
            self._key.public_key()
            .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )

    def headers(self, body: bytes) -> dict[str, str]:
        signature = base64.b64encode(self._key.sign(body, self._algorithm)).decode()
        return {"Github-Public-Key-Identifier": KEY_ID, "Github-Public-Key-Signature": signature}

    def key_list(self) -> str:
        return json.dumps(
            {"public_keys": [{"key_identifier": KEY_ID, "key": self.pem, "is_current": True}]}
        )


def report_body(ours: list[str], unknown: int) -> bytes:
    """Return a report naming `ours` and `unknown` other values (half well-formed), mixed."""
    from tokens import secrets

    others = [
        secrets.generate(settings.KEYWARD_TOKEN_PREFIX, "workspace") if i % 2 else f"junk-{i}"
        for i in range(unknown)
    ]
    values = [*ours, *others]
    values = values[::7] + [v for i, v in enumerate(values) if i % 7]
    return json.dumps(
        [
            {
                "token": value,
                "type": "keyward_workspace_token",
                "url": "https://github.com/octo-org/octo-repo/blob/main/.env",
                "source": "content",
            }
            for value in values
        ]
    ).encode()


def deliver(client: Client, signer: Signer, body: bytes) -> tuple[float, int]:
    """POST `body` signed; return the seconds it took and the SQL statements it ran."""
    headers = signer.headers(body)
    with QueryCounter() as counted:
        start = time.perf_counter()
        response = client.post(ENDPOINT, body, content_type="application/json", headers=headers)
        elapsed = time.perf_counter() - start
    if response.status_code != 200:
        raise SystemExit(f"{ENDPOINT} answered {response.status_code}: {response.content[:200]!r}")
    return elapsed, counted.queries


def queued_deliveries(client, signer, workspace, user, runs: int) -> tuple[list[float], int]:
    """Deliver fresh reports with the emails queued for the worker (none sent).

    Return the seconds of each delivery and the tasks the last one queued.
    """
    from django_tasks_db.models import DBTaskResult

    seconds = []
    with override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}):
        for i in range(runs):
            body = report_body(workspace_tokens_in_bulk(workspace, user, OURS, f"q-{i}"), UNKNOWN)
            DBTaskResult.objects.all().delete()
            mail.outbox = []
            seconds.append(deliver(client, signer, body)[0])
            if mail.outbox:
                raise SystemExit("A queued delivery sent emails before answering.")
        return seconds, DBTaskResult.objects.count()


def run(runs: int) -> None:
    """Print the secret scanning benchmark table."""
    from tokens.models import LeakReport

    workspace, membership = bench_workspace("scanning")
    signer = Signer()
    client = Client()
    with tempfile.TemporaryDirectory() as folder:
        keys = Path(folder) / "keys.json"
        keys.write_text(signer.key_list())
        with override_settings(KEYWARD_GITHUB_SECRET_SCANNING_KEYS_FILE=str(keys)):
            deliver(client, signer, report_body([], 10))  # warm imports and the key cache
            first, repeated, false_only = [], [], []
            first_queries = repeated_queries = 0
            for i in range(runs):
                mail.outbox = []
                body = report_body(
                    workspace_tokens_in_bulk(workspace, membership.user, OURS, f"leak-{i}"), UNKNOWN
                )
                seconds, first_queries = deliver(client, signer, body)
                first.append(seconds)
                seconds, repeated_queries = deliver(client, signer, body)
                repeated.append(seconds)
                false_only.append(deliver(client, signer, report_body([], OURS + UNKNOWN))[0])
            emails = len(mail.outbox)
            server_ms = [r.duration_ms for r in LeakReport.objects.filter(ours=OURS, revoked=OURS)]
            queued, tasks = queued_deliveries(client, signer, workspace, membership.user, runs)

    def ms(values: list[float]) -> str:
        return f"{statistics.median(values) * 1e3:,.1f} / {max(values) * 1e3:,.1f}"

    header(
        f"GitHub secret scanning on {connection.vendor}: signed report of {OURS + UNKNOWN:,} "
        f"values ({OURS} ours and active, {UNKNOWN} not), {runs} runs, Django test client"
    )
    row("first delivery, revokes 100 and emails: p50 / max (ms)", ms(first))
    inside = f"{statistics.median(server_ms):,.1f}"
    row("  of which inside handle_report (LeakReport.duration_ms), p50", inside)
    row("repeated delivery, nothing to revoke: p50 / max (ms)", ms(repeated))
    row("1,000 values none ours: p50 / max (ms)", ms(false_only))
    row("SQL queries: first delivery / repeated delivery", f"{first_queries} / {repeated_queries}")
    row("leak emails sent by the last run's first delivery", f"{emails}")
    row("first delivery, emails queued for the worker: p50 / max (ms)", ms(queued))
    row("  tasks queued by it, emails sent before the answer", f"{tasks} / 0")
