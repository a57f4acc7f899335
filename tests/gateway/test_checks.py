"""The system checks refuse gateway header names the check could not send."""

from __future__ import annotations

from gateway.checks import check_header_names

NAMES = {
    "token_id": "X-Keyward-Token-Id",
    "workspace": "X-Keyward-Workspace",
    "owner": "X-Keyward-Owner",
    "scopes": "X-Keyward-Scopes",
}


def test_the_defaults_pass():
    assert check_header_names(None) == []


def test_bad_or_missing_names_are_errors(settings):
    settings.KEYWARD_GATEWAY_RESPONSE_HEADERS = {**NAMES, "owner": "X Owner", "scopes": ""}
    del settings.KEYWARD_GATEWAY_RESPONSE_HEADERS["token_id"]
    settings.KEYWARD_GATEWAY_TOKEN_HEADER = "X-Api-Key\n"
    ids = sorted(error.id for error in check_header_names(None))
    assert ids == ["gateway.E001", "gateway.E002", "gateway.E002", "gateway.E002"]
