"""TOTP (RFC 6238): reference vectors, the accepted window, and keys written for apps."""

from __future__ import annotations

import pytest

from accounts.signin import totp
from tests.accounts.otp import hotp, key_from_text
from tests.accounts.otp import totp as reference_totp

RFC_KEY = b"12345678901234567890"

# RFC 6238 Appendix B, the SHA1 rows (8 digits there).
RFC_6238_SHA1 = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]


@pytest.mark.parametrize(("unix_time", "expected"), RFC_6238_SHA1)
def test_rfc_6238_reference_vectors(unix_time, expected):
    assert totp.code_at(RFC_KEY, unix_time, digits=8) == expected
    assert reference_totp(RFC_KEY, unix_time, digits=8) == expected  # the test's own HOTP too


def test_rfc_4226_reference_values():
    # RFC 4226 Appendix D, counters 0-9.
    expected = [
        "755224",
        "287082",
        "359152",
        "969429",
        "338314",
        "254676",
        "287922",
        "162583",
        "399871",
        "520489",
    ]
    assert [totp.hotp(RFC_KEY, counter) for counter in range(10)] == expected
    assert [hotp(RFC_KEY, counter) for counter in range(10)] == expected


NOW = 1_800_000_015.0  # 15 s into a step


@pytest.mark.parametrize("steps_off", [-1, 0, 1])
def test_codes_one_step_either_side_are_accepted(steps_off):
    code = reference_totp(RFC_KEY, NOW, steps_off=steps_off)
    assert totp.matching_step(RFC_KEY, code, NOW) == totp.time_step(NOW) + steps_off


@pytest.mark.parametrize("steps_off", [-2, 2, -3, 3])
def test_codes_two_or_more_steps_away_are_refused(steps_off):
    code = reference_totp(RFC_KEY, NOW, steps_off=steps_off)
    assert totp.matching_step(RFC_KEY, code, NOW) is None


def test_step_edges_follow_the_clock():
    start = 1_800_000_000.0  # a step boundary: 1_800_000_000 / 30
    assert totp.time_step(start) == totp.time_step(start + 29.999)
    assert totp.time_step(start - 0.001) == totp.time_step(start) - 1
    code = reference_totp(RFC_KEY, start - 31)  # two steps before the boundary's step
    assert totp.matching_step(RFC_KEY, code, start) is None
    assert totp.matching_step(RFC_KEY, code, start - 1) is not None  # one step then


@pytest.mark.parametrize("typed", ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦", None])
def test_malformed_codes_match_nothing(typed):
    assert totp.matching_step(RFC_KEY, typed, NOW) is None


def test_spaces_and_dashes_in_a_code_are_ignored():
    code = reference_totp(RFC_KEY, NOW)
    assert totp.matching_step(RFC_KEY, f" {code[:3]} {code[3:]} ", NOW) is not None
    assert totp.matching_step(RFC_KEY, f"{code[:3]}-{code[3:]}", NOW) is not None


def test_the_key_text_and_uri_give_apps_the_same_key():
    key = totp.new_key()
    assert len(key) == 20
    assert key_from_text(totp.key_text(key)) == key
    uri = totp.provisioning_uri(key, account="ada@example.com", issuer="Keyward")
    assert uri.startswith("otpauth://totp/Keyward:ada@example.com?secret=")
    secret = uri.split("secret=")[1].split("&")[0]
    assert key_from_text(secret) == key
    assert "&issuer=Keyward&algorithm=SHA1&digits=6&period=30" in uri
