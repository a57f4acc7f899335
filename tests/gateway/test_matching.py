"""Hosts, path prefixes and methods: canonical forms and the spellings that must not escape."""

from __future__ import annotations

import pytest

from gateway.matching import (
    RuleError,
    clean_host,
    clean_method,
    clean_path_prefix,
    request_host,
    request_segments,
)


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("API.Example.com", "api.example.com"),
        ("api.example.com.", "api.example.com"),
        ("*.example.com", "*.example.com"),
        ("10.0.0.1", "10.0.0.1"),
        ("[2001:DB8::1]", "2001:db8::1"),
    ],
)
def test_hosts_are_kept_in_canonical_form(given, canonical):
    assert clean_host(given) == canonical


@pytest.mark.parametrize(
    "bad",
    ["", "api example.com", "api.*.com", "*.com", "-api.example.com", "a" * 64 + ".com", "x/y"],
)
def test_malformed_hosts_are_refused(bad):
    with pytest.raises(RuleError):
        clean_host(bad)


@pytest.mark.parametrize(
    ("given", "canonical"),
    [("/", "/"), ("", "/"), ("/api/", "/api"), ("/API//v1", "/api/v1"), ("/caf%C3%A9", "/café")],
)
def test_prefixes_are_kept_in_canonical_form(given, canonical):
    assert clean_path_prefix(given) == canonical


@pytest.mark.parametrize(
    "bad", ["api", "/api?x=1", "/a#b", "/a;b", "/a b", "/a/../b", "/./a", "/%2e%2e/a", "/a%zz"]
)
def test_malformed_prefixes_are_refused(bad):
    with pytest.raises(RuleError):
        clean_path_prefix(bad)


@pytest.mark.parametrize(
    ("target", "segments"),
    [
        ("/admin/x?y=../../z", ("admin", "x")),
        ("/public/../admin/x", ("admin", "x")),
        ("/public/%2e%2e/admin", ("admin",)),
        ("/public/%2E%2E%2Fadmin", ("admin",)),
        ("/public/..;/admin", ("admin",)),
        ("//admin//x", ("admin", "x")),
        ("/ADMIN", ("admin",)),
        ("/../../admin", ("admin",)),
        ("/admin;jsessionid=1/x", ("admin", "x")),
        ("http://evil.example/admin", ("admin",)),
        ("", ()),
    ],
)
def test_request_paths_are_read_as_servers_read_them(target, segments):
    assert request_segments(target) == segments


@pytest.mark.parametrize(
    "ambiguous", ["/%252e%252e/admin", "/a%00b", "/a\\..\\admin", "/a%5cb", "/a%zz", "*", "/%ff"]
)
def test_ambiguous_request_paths_are_refused(ambiguous):
    assert request_segments(ambiguous) is None


@pytest.mark.parametrize(
    ("header", "host"),
    [
        ("API.example.com:8443", "api.example.com"),
        ("api.example.com.", "api.example.com"),
        ("[::1]:80", "::1"),
        ("127.0.0.1:80", "127.0.0.1"),
        ("bad host", None),
        ("", None),
    ],
)
def test_request_hosts_drop_the_port(header, host):
    assert request_host(header) == host


def test_methods_are_http_tokens():
    assert clean_method("PATCH") == "PATCH"
    for bad in ("get", "G ET", "", "A" * 21, "GE\tT", "GET;"):
        with pytest.raises(RuleError):
            clean_method(bad)
