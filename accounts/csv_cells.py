"""Write CSV cells that spreadsheets show as text, never run as formulas."""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value) -> str:
    """Return `value` as a CSV cell a spreadsheet will not run as a formula (OWASP's advice).

    Token names, user agents and actor labels come from users and API clients.
    """
    text = str(value or "")
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text
