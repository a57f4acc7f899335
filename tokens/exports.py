"""Build what the one-time reveal offers: the CSV and the GitHub Actions snippet."""

from __future__ import annotations

import csv
import io
from urllib.parse import quote

from django.utils.text import slugify

from accounts.csv_cells import spreadsheet_safe
from tokens.models import Token

GITHUB_ACTIONS_SNIPPET = "env:\n  KEYWARD_TOKEN: ${{ secrets.KEYWARD_TOKEN }}\n"


def token_csv(token: Token, secret: str) -> str:
    """Return a CSV with the token's name, id, secret, scopes and expiry."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["name", "token_id", "token", "scopes", "expires_at"])
    writer.writerow(
        [
            spreadsheet_safe(token.name),
            token.public_id,
            secret,
            " ".join(token.scopes),
            token.expires_at.isoformat() if token.expires_at else "never",
        ]
    )
    return buffer.getvalue()


def reveal_context(token: Token, secret: str) -> dict:
    """Return the template context of the one-time reveal of `secret`."""
    return {
        "token": token,
        "secret": secret,
        "masked": token.prefix + "•" * (len(secret) - len(token.prefix) - 4) + token.last_four,
        "csv_href": "data:text/csv;charset=utf-8," + quote(token_csv(token, secret)),
        "csv_filename": f"keyward-token-{slugify(token.name) or token.public_id}.csv",
        "snippet": GITHUB_ACTIONS_SNIPPET,
    }
