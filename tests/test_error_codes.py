"""Every refusal the gateway and tokens apps raise carries a stable code for the API.

The JSON API reports each field's errors with their codes (accounts.errors.by_field);
an error raised without one would reach clients as the catch-all "invalid". Read from
the source, so that a new refusal without a code fails here by itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("gateway", "tokens")


def _sources() -> list[Path]:
    return sorted(
        path
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts
    )


def _is_validation_error(node: ast.AST) -> bool:
    func = node.func if isinstance(node, ast.Call) else None
    name = getattr(func, "id", None) or getattr(func, "attr", None)
    return name == "ValidationError"


def _uncoded(tree: ast.AST) -> list[int]:
    """Return the lines of ValidationError(...) calls that give a message without a code."""
    lines = []
    for node in ast.walk(tree):
        if not _is_validation_error(node) or not node.args:
            continue
        message = node.args[0]
        if isinstance(message, ast.Dict):
            # A dict's values must be errors with their own codes: they do not inherit one.
            lines += [v.lineno for v in message.values if not _is_validation_error(v)]
        elif isinstance(message, ast.Name):
            continue  # a dict of errors built above, each checked where it is made
        elif not any(keyword.arg == "code" for keyword in node.keywords):
            lines.append(node.lineno)
    return lines


@pytest.mark.parametrize("path", _sources(), ids=lambda path: str(path.relative_to(ROOT)))
def test_every_validation_error_has_a_code(path):
    uncoded = _uncoded(ast.parse(path.read_text(), filename=str(path)))
    assert not uncoded, f"{path.relative_to(ROOT)}: ValidationError without code= at {uncoded}"


# The modules whose refusals reach the JSON API (the console's and admin's own, such as a
# service's slug, are shown on their forms).
API_SOURCES = (
    "tokens/api.py",
    "tokens/validation.py",
    "tokens/scopes.py",
    "tokens/services/tokens.py",
    "gateway/limit_services.py",
    "gateway/usage_queries.py",
    "accounts/text.py",
)
# Codes of errors the API answers otherwise (not as 400 validation_error).
NOT_FIELD_ERRORS = {"rate_limited", "show_once", "inactive", "no_copy"}


def _codes(tree: ast.AST) -> set[str]:
    """Return the constant codes given to ValidationError(code=...) and field_error(...)."""
    codes = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        if _is_validation_error(node):
            codes |= {
                kw.value.value
                for kw in node.keywords
                if kw.arg == "code" and isinstance(kw.value, ast.Constant)
            }
        elif (
            getattr(node.func, "id", None) == "field_error"
            and len(node.args) == 3
            and isinstance(node.args[2], ast.Constant)
        ):
            codes.add(node.args[2].value)
    return codes


def test_the_readme_documents_every_code_the_api_answers_with():
    from tokens.api import SCHEMA_CODES

    readme = (ROOT / "README.md").read_text()
    section = readme.split("### API errors", 1)[1].split("\n### ", 1)[0]
    codes = {*SCHEMA_CODES.values(), "invalid"}
    for source in API_SOURCES:
        codes |= _codes(ast.parse((ROOT / source).read_text()))
    missing = sorted(code for code in codes - NOT_FIELD_ERRORS if f"`{code}`" not in section)
    assert not missing, f"README's API errors section lacks {missing}"
