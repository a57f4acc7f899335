"""Any header values or bytes sent to /gateway/check: an answer a gateway understands, never 5xx."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

EXAMPLES = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ANSWERS = {200, 401, 403, 429}
HEADERS = [
    "Authorization",
    "X-Api-Key",
    "Host",
    "X-Original-Method",
    "X-Original-URI",
    "X-Original-Host",
    "X-Forwarded-Method",
    "X-Forwarded-Uri",
    "X-Forwarded-Host",
    "X-Forwarded-For",
]
# What a WSGI server may hand over: any text, or any bytes read as Latin-1 (PEP 3333).
raw = st.one_of(
    st.text(max_size=300),
    st.binary(max_size=300).map(lambda data: data.decode("latin-1")),
    st.sampled_from(
        [
            "",
            "/billing/../admin",
            "/billing/%2e%2e/%2e%2e",
            "/%",
            "/%zz",
            "/%c0%ae%c0%ae/",
            "//",
            "*",
            "api.example.com:99999999999999999999",
            "[::1",
            "[zz]:80",
            "GET, POST",
            "9" * 5000,
            "\x00",
            "Bearer ",
            "Bearer \x00",
        ]
    ),
)


def _meta(headers: dict[str, str]) -> dict[str, str]:
    return {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}


@pytest.fixture
def tokens(reader, writer):
    return [reader, writer, reader[:-1] + "x", "kww_" + "0" * 36]


@EXAMPLES
@given(
    headers=st.dictionaries(st.sampled_from(HEADERS), raw, max_size=len(HEADERS)),
    token=st.integers(min_value=-1, max_value=3),
    method=st.sampled_from(["GET", "POST", "DELETE", "OPTIONS", "PROPFIND"]),
)
def test_any_headers_get_an_answer_a_gateway_understands(settings, tokens, headers, token, method):
    settings.KEYWARD_GATEWAY_TOKEN_HEADER = "X-Api-Key"
    settings.KEYWARD_TRUST_X_FORWARDED_FOR = True
    if token >= 0:
        headers = {**headers, "Authorization": f"Bearer {tokens[token]}"}
    response = Client().generic(method, "/gateway/check", **_meta(headers))
    assert response.status_code in ANSWERS, response.content[:300]
    assert response.has_header("X-Keyward-Token-Id") == (response.status_code == 200)


@EXAMPLES
@given(path=raw, host=raw, token=st.integers(min_value=0, max_value=3))
def test_any_envoy_path_gets_an_answer_a_gateway_understands(tokens, path, host, token):
    headers = {"Host": host, "Authorization": f"Bearer {tokens[token]}"}
    url = "/gateway/check/envoy/" + quote(path, safe="/%?&=;")
    response = Client().get(url, **_meta(headers))
    assert response.status_code in ANSWERS, response.content[:300]
