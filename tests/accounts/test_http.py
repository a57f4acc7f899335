"""Facts read from a request are safe to store: an IP address or nothing, printable agents."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from accounts.http import client_ip, user_agent


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        ("198.51.100.7, 203.0.113.9", "203.0.113.9"),
        ("2001:db8::1", "2001:db8::1"),
        ("203.0.113.9\x00", None),
        ("not-an-address", None),
        ("unknown, ", None),
    ],
)
def test_a_trusted_forwarded_header_gives_an_ip_address_or_nothing(settings, forwarded, expected):
    settings.KEYWARD_TRUST_X_FORWARDED_FOR = True
    request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR=forwarded)

    assert client_ip(request) == expected


def test_the_user_agent_is_one_printable_line():
    request = RequestFactory().get("/", HTTP_USER_AGENT="curl/8\x00\r\nX-Evil: 1")

    assert user_agent(request) == "curl/8 X-Evil: 1"
