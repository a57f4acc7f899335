"""The request log: one JSON line per request, the request id everywhere, no secret."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.test import Client

from ops.logs import JsonFormatter, PathFilter, RequestIdFilter
from tests.factories import issue, signed_in
from tests.test_configuration import load


class Lines(logging.Handler):
    """Collect every record, formatted as the production log formats it."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.addFilter(RequestIdFilter())
        self.addFilter(PathFilter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def entries(self, logger: str | None = None) -> list[dict]:
        found = [json.loads(line) for line in self.lines]
        return [entry for entry in found if logger is None or entry["logger"] == logger]


@contextmanager
def captured(level: int = logging.INFO) -> Iterator[Lines]:
    """Collect what every logger writes at `level` and above, as JSON lines."""
    handler = Lines()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(level)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


@pytest.mark.django_db
def test_each_request_is_one_json_line_with_its_id(workspace, admin_user):
    token, secret = issue(admin_user, workspace, scopes=["tokens:read"])
    with captured() as log:
        response = Client().get(
            "/api/v1/whoami?access_token=" + secret,
            HTTP_AUTHORIZATION=f"Bearer {secret}",
            REMOTE_ADDR="198.51.100.7",
        )
    assert response.status_code == 200
    [entry] = log.entries("keyward.requests")
    assert entry["request_id"] == response["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", entry["request_id"])
    assert entry["level"] == "INFO"
    assert entry["message"].startswith("GET api:whoami 200 ")
    assert {key: entry[key] for key in ("method", "route", "status", "client_ip")} == {
        "method": "GET",
        "route": "api:whoami",
        "status": 200,
        "client_ip": "198.51.100.7",
    }
    assert isinstance(entry["duration_ms"], float)
    assert (entry["workspace"], entry["token"]) == ("acme", token.public_id)
    assert secret not in "\n".join(log.lines)  # neither the header nor the query string


@pytest.mark.django_db
def test_a_console_page_names_its_workspace(workspace, admin_user):
    with captured() as log:
        signed_in(admin_user).get("/w/acme/settings/tokens/")
    [entry] = log.entries("keyward.requests")
    assert (entry["route"], entry["status"], entry["workspace"]) == ("tokens:list", 200, "acme")
    assert "token" not in entry


@pytest.mark.django_db
def test_other_lines_of_the_request_carry_its_id():
    with captured() as log:
        response = Client().get("/api/v1/whoami", HTTP_AUTHORIZATION="Bearer kww_garbage")
    assert response.status_code == 401
    warning = next(e for e in log.entries() if e["message"].startswith("API authentication failed"))
    assert warning["request_id"] == response["X-Request-ID"]
    assert "request_id" not in json.loads(JsonFormatter().format(logging.makeLogRecord({})))


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("5f2c0e8f-7a1b-4c3d-9e8f-0a1b2c3d4e5f", True),
        ("0123456789abcdef0123456789abcdef", True),
        ("has space", False),
        ('"}{"level": "forged', False),
        ("kww_" + "a" * 36, False),  # a token sent by mistake is never echoed or logged
        ("x" * 129, False),
    ],
)
def test_a_well_formed_request_id_from_the_proxy_is_kept(sent, kept):
    response = Client().get("/healthz", HTTP_X_REQUEST_ID=sent)
    assert (response["X-Request-ID"] == sent) is kept
    assert re.fullmatch(r"[A-Za-z0-9.:-]{1,128}", response["X-Request-ID"])


@pytest.mark.django_db
def test_django_s_own_lines_carry_the_id_but_neither_path_nor_request():
    """Django logs an error answer after the middleware, with the path in its message and
    the request in `extra` (its repr holds the query string): links can carry secrets."""
    with captured(logging.WARNING) as log:
        response = Client().get("/invitations/a-live-link/?token=kww_secret")
    [refused] = log.entries("django.request")
    assert refused["message"] == "Bad Request: accounts:invitation_accept"
    assert (refused["status_code"], refused["request_id"]) == (400, response["X-Request-ID"])
    with captured(logging.WARNING) as log:
        Client().get("/nowhere/kww_pasted/")
    assert log.entries("django.request")[0]["message"] == "Not Found: unmatched"
    lines = "\n".join(log.lines)
    for leaked in ("a-live-link", "kww_secret", "kww_pasted", "WSGIRequest"):
        assert leaked not in lines
    with captured(logging.WARNING) as log:
        logging.getLogger("keyward").warning("after the request")
    assert "request_id" not in log.entries()[0]


def test_the_log_handler_adds_the_request_id_and_hides_paths(monkeypatch):
    console = load(monkeypatch)["LOGGING"]["handlers"]["console"]
    assert console["filters"] == ["request_id", "no_paths"]


def test_successful_probes_stay_out_of_the_info_log():
    with captured() as log:
        Client().get("/healthz")
    assert log.entries("keyward.requests") == []
    with captured(logging.DEBUG) as log:
        Client().get("/healthz")
    assert [e["route"] for e in log.entries("keyward.requests")] == ["ops:healthz"]


def test_production_logs_json_and_development_text(monkeypatch):
    def formatter(**environ) -> str:
        return load(monkeypatch, **environ)["LOGGING"]["handlers"]["console"]["formatter"]

    assert formatter() == "json"
    assert formatter(DEBUG="1") == "text"
    assert formatter(DEBUG="1", KEYWARD_LOG_FORMAT="json") == "json"
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="KEYWARD_LOG_FORMAT"):
        formatter(KEYWARD_LOG_FORMAT="xml")
