"""docs/gateways.md shows the nginx configuration that tests/gateway/test_nginx.py runs."""

from __future__ import annotations

import re

from tests.gateway.harness import EXAMPLE
from tests.servers import PROJECT

GUIDE = PROJECT / "docs" / "gateways.md"


def directives(text: str) -> list[str]:
    """Return the lines of an nginx configuration without comments and blank lines."""
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line]


def test_the_guides_nginx_configuration_is_the_tested_file_line_for_line():
    [shown] = re.findall(r"```nginx\n(.*?)```", GUIDE.read_text(), flags=re.DOTALL)

    assert directives(shown) == directives(EXAMPLE.read_text())
