"""Templates: nothing meant for developers reaches the page."""

from __future__ import annotations

from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


@pytest.mark.parametrize(
    "path", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: str(p.relative_to(TEMPLATES))
)
def test_comments_are_closed_on_their_own_line(path):
    """Django's {# #} spans one line only; a longer one is printed as text on the page."""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if "{#" in line:
            assert "#}" in line.split("{#", 1)[1], f"{path.name}:{number}: use {{% comment %}}"
