"""The secrets module: layout, checksum, parsing, digest and the scanner pattern."""

from __future__ import annotations

import ast
import hashlib
import re
import string
import zlib
from pathlib import Path

import pytest

from tokens import secrets

ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
PARSER = secrets.TokenParser("kw")


def to_base62(number: int) -> str:
    """Return `number` in base62, left-padded with 0 to 6 characters."""
    digits = ""
    while number:
        number, remainder = divmod(number, 62)
        digits = ALPHABET[remainder] + digits
    return digits.rjust(6, "0")


def crc_base62(random_part: str) -> str:
    """Return the CRC32 of `random_part` as the layout wants it, computed here with zlib."""
    return to_base62(zlib.crc32(random_part.encode()))


def with_checksum(prefix: str, random_part: str) -> str:
    return prefix + random_part + crc_base62(random_part)


def test_module_imports_nothing_from_django():
    tree = ast.parse(Path(secrets.__file__).read_text())
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}

    assert not [name for name in imported if name.split(".")[0] == "django"]


# Layout -------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "prefix"), [("workspace", "kww_"), ("personal", "kwp_")])
def test_generate_follows_githubs_layout(kind, prefix):
    value = secrets.generate("kw", kind)

    assert value.startswith(prefix)
    assert len(value) == len(prefix) + 30 + 6
    body = value[len(prefix) :]
    assert set(body) <= set(ALPHABET)
    assert body[30:] == crc_base62(body[:30])


def test_generate_uses_the_base_prefix_given():
    value = secrets.generate("acme", "personal")

    assert value.startswith("acmep_")
    assert len(value) == len("acmep_") + 36


def test_generate_rejects_an_unknown_kind():
    with pytest.raises(KeyError):
        secrets.generate("kw", "robot")


def test_generated_values_are_unique():
    values = {secrets.generate("kw", "workspace") for _ in range(2000)}

    assert len(values) == 2000
    assert len({value[4:34] for value in values}) == 2000


def test_generated_random_parts_use_the_whole_alphabet():
    seen = set("".join(secrets.generate("kw", "workspace")[4:34] for _ in range(300)))

    assert seen == set(ALPHABET)


# Checksum -----------------------------------------------------------------------


@pytest.mark.parametrize("random_part", ["0" * 30, "z" * 30, "aZ09" * 7 + "xy", "A" * 30])
def test_checksum_is_crc32_in_base62(random_part):
    assert secrets.checksum(random_part) == crc_base62(random_part)


def test_checksum_is_left_padded_with_zeros():
    # About one string in 290 has a CRC32 below 62**4: its checksum starts with "00".
    small = next(
        part for part in (f"{n:030d}" for n in range(100_000)) if zlib.crc32(part.encode()) < 62**4
    )

    result = secrets.checksum(small)

    assert len(result) == 6
    assert result.startswith("00")
    assert result == crc_base62(small)


def test_the_largest_crc_fits_six_characters():
    assert secrets.base62_encode(2**32 - 1, 6) == to_base62(2**32 - 1) == "4gfFC3"


def test_base62_encode_pads_and_refuses_negatives():
    assert secrets.base62_encode(0, 3) == "000"
    assert secrets.base62_encode(61, 2) == "0z"
    assert secrets.base62_encode(62, 2) == "10"
    with pytest.raises(ValueError):
        secrets.base62_encode(-1, 6)


# Parsing ------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "prefix"), [("workspace", "kww_"), ("personal", "kwp_")])
def test_parse_accepts_a_generated_token_and_names_its_kind(kind, prefix):
    value = secrets.generate("kw", kind)

    parsed = PARSER.parse(value)

    assert parsed == secrets.ParsedToken(value=value, kind=kind)


def test_parse_accepts_a_token_built_independently():
    value = with_checksum("kww_", "abcdefghijABCDEFGHIJ0123456789")

    assert PARSER.parse(value) is not None


@pytest.mark.parametrize("cut", [-1, 1])
def test_parse_rejects_a_wrong_length(cut):
    value = secrets.generate("kw", "workspace")
    changed = value[:-1] if cut == -1 else value + "0"

    assert PARSER.parse(changed) is None


@pytest.mark.parametrize("prefix", ["kwx_", "kwW_", "KWW_", "kww-", "gxw_", "kw__"])
def test_parse_rejects_a_wrong_prefix(prefix):
    value = with_checksum(prefix, "abcdefghijABCDEFGHIJ0123456789")

    assert PARSER.parse(value) is None


def test_parse_rejects_another_deployments_prefix():
    value = secrets.generate("ac", "workspace")

    assert PARSER.parse(value) is None
    assert secrets.TokenParser("ac").parse(value) is not None


@pytest.mark.parametrize("bad", ["-", "_", " ", "+", "/", "=", "é", "\x00", "٣"])
def test_parse_rejects_characters_outside_base62_even_with_a_matching_checksum(bad):
    random_part = "abcdefghijABCDEFGHIJ012345678" + bad
    # The checksum is computed the same way, so only the charset check can refuse it.
    value = "kww_" + random_part + to_base62(zlib.crc32(random_part.encode("utf-8")))
    assert len(value) == 40

    assert PARSER.parse(value) is None


def test_parse_rejects_garbage_without_raising():
    for value in ["", "kww_", "Bearer", "x" * 40, "kww_" + "é" * 36, "\n" * 40]:
        assert PARSER.parse(value) is None


def test_every_single_character_change_fails_the_checksum():
    value = secrets.generate("kw", "workspace")
    changed = 0

    for position in range(4, len(value)):
        for replacement in ALPHABET:
            if replacement == value[position]:
                continue
            assert PARSER.parse(value[:position] + replacement + value[position + 1 :]) is None
            changed += 1

    assert changed == 36 * 61


def test_swapping_two_adjacent_characters_fails_the_checksum():
    value = secrets.generate("kw", "workspace")

    for position in range(4, len(value) - 1):
        a, b = value[position], value[position + 1]
        if a == b:
            continue
        swapped = value[:position] + b + a + value[position + 2 :]
        assert PARSER.parse(swapped) is None


# Digest, last four, censor ------------------------------------------------------


def test_digest_is_sha256_hex_of_the_whole_token():
    value = secrets.generate("kw", "workspace")

    result = secrets.digest(value)

    assert result == hashlib.sha256(value.encode()).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", result)
    other_last = "1" if value.endswith("0") else "0"  # a token may end in "0" itself
    assert secrets.digest(value[:-1] + other_last) != result


def test_last_four_and_censor():
    value = with_checksum("kww_", "abcdefghijABCDEFGHIJ0123456789")

    assert secrets.last_four(value) == value[-4:]
    assert secrets.censor("kww_", value[-4:]) == f"kww_…{value[-4:]}"
    assert secrets.kind_prefix("kw", "personal") == "kwp_"


# Scanner pattern ----------------------------------------------------------------


def test_token_pattern_finds_generated_tokens_in_text():
    pattern = re.compile(secrets.token_pattern("kw"))
    workspace = secrets.generate("kw", "workspace")
    personal = secrets.generate("kw", "personal")
    text = f'export API_TOKEN={workspace}\nconfig = {{"token": "{personal}"}}\n'

    assert pattern.findall(text) == [workspace, personal]


def test_token_pattern_skips_near_misses():
    pattern = re.compile(secrets.token_pattern("kw"))
    value = secrets.generate("kw", "workspace")
    near_misses = [
        value[:-1],  # one character short
        value + "a",  # one character long
        "kwx_" + value[4:],  # unknown kind letter
        "x" + value,  # part of a longer word
        "kw_" + value[4:],  # no kind letter
        value[:10] + "-" + value[11:],  # a character outside base62
    ]

    for text in near_misses:
        assert pattern.search(text) is None, text


def test_token_pattern_follows_the_base_prefix():
    value = secrets.generate("acme", "personal")

    assert re.search(secrets.token_pattern("acme"), value)
    assert not re.search(secrets.token_pattern("kw"), value)
    assert re.search(secrets.token_pattern("a.c"), "abcp_" + value[6:]) is None


def test_token_pattern_covers_every_accepted_prefix_and_each_kind_alone():
    current = secrets.generate("acme", "workspace")
    old = secrets.generate("kw", "workspace")
    old_personal = secrets.generate("kw", "personal")
    both_kinds = re.compile(secrets.token_pattern("acme", ["kw", "k.w"]))
    workspace_only = re.compile(secrets.token_pattern("acme", ["kw"], kind="workspace"))

    assert both_kinds.findall(f"{current} {old} {old_personal}") == [current, old, old_personal]
    assert workspace_only.findall(f"{current} {old} {old_personal}") == [current, old]
    assert not both_kinds.search("kxw_" + old[4:])  # an accepted prefix is matched literally
    assert not both_kinds.search(secrets.generate("zz", "workspace"))
    assert secrets.token_pattern("kw", ["kw"]) == secrets.token_pattern("kw")


def test_the_parser_accepts_earlier_prefixes_of_any_length():
    parser = secrets.TokenParser("acme", accepted=["kw", "k_w"])
    for prefix, kind in [("acme", "workspace"), ("kw", "personal"), ("k_w", "workspace")]:
        value = secrets.generate(prefix, kind)
        assert parser.parse(value) == secrets.ParsedToken(value=value, kind=kind)
    assert parser.parse(secrets.generate("other", "workspace")) is None
    assert parser.parse("x" * 10_000) is None
