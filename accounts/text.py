"""Define what text a name or a description may hold: one rule for forms, API, admin and services.

A name (workspace, token, resource, resource kind, a person's display name)
is one line of printable text: it goes into email subjects, log lines and
table cells. A description may span lines. Neither may hold NUL or other
control characters (PostgreSQL refuses NUL; headers break on CR and LF),
lone surrogates (not encodable, so not storable), or the bidirectional
controls that make text read differently from what it is ("Trojan Source").
"""

from __future__ import annotations

import re
import unicodedata

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.deconstruct import deconstructible

# Written with \x and \u escapes only, so that the same string is a Python `re`
# pattern, a Rust regex (pydantic) and an ECMA-262 one (a JSON-Schema `pattern`).
_BIDI_CONTROLS = r"\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_SEPARATORS = r"\u2028\u2029"
_CONTROLS = r"\x00-\x1f\x7f-\x9f"
_CONTROLS_BUT_TAB_AND_NEWLINES = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
# Lone surrogates are left out of the portable patterns: a JSON-Schema engine
# without the `u` flag would read them as halves of every emoji. JSON parsers
# and pydantic refuse them before a pattern runs; the validators below check.
_SURROGATES = "\ud800-\udfff"

_NAME_CHARACTER = rf"[^{_CONTROLS}{_SEPARATORS}{_BIDI_CONTROLS}]"
NAME_PATTERN = rf"^{_NAME_CHARACTER}*$"
# A name that must be given: something besides spaces (names are trimmed).
GIVEN_NAME_PATTERN = (
    rf"^{_NAME_CHARACTER}*[^\s{_CONTROLS}{_SEPARATORS}{_BIDI_CONTROLS}]{_NAME_CHARACTER}*$"
)
TEXT_PATTERN = rf"^[^{_CONTROLS_BUT_TAB_AND_NEWLINES}{_SEPARATORS}{_BIDI_CONTROLS}]*$"

NAME_MESSAGE = (
    "Use a single line of printable text: no line breaks, tabs, control or "
    "text-direction characters."
)
TEXT_MESSAGE = "Use printable text: no control or text-direction characters."
# What the API says when its schema's pattern refuses a field.
PATTERN_MESSAGES = {
    NAME_PATTERN: NAME_MESSAGE,
    GIVEN_NAME_PATTERN: f"Give a name, not only spaces. {NAME_MESSAGE}",
    TEXT_PATTERN: TEXT_MESSAGE,
}

_NAME_FORBIDDEN = re.compile(f"[{_CONTROLS}{_SEPARATORS}{_BIDI_CONTROLS}{_SURROGATES}]")
_TEXT_FORBIDDEN = re.compile(
    f"[{_CONTROLS_BUT_TAB_AND_NEWLINES}{_SEPARATORS}{_BIDI_CONTROLS}{_SURROGATES}]"
)
_RUNS_OF_SPACE = re.compile(r"\s+")


@deconstructible
class TextValidator:
    """Raise a ValidationError (code "invalid") when a value holds a forbidden character."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.forbidden, self.message = {
            "name": (_NAME_FORBIDDEN, NAME_MESSAGE),
            "text": (_TEXT_FORBIDDEN, TEXT_MESSAGE),
        }[kind]

    def __call__(self, value: str) -> None:
        if value and self.forbidden.search(value):
            raise ValidationError(self.message, code="invalid")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TextValidator) and other.kind == self.kind

    def __hash__(self) -> int:
        return hash(self.kind)


validate_name = TextValidator("name")
validate_text = TextValidator("text")

# Control, format (zero-width, bidi), surrogate and separator characters: none
# shows on screen, so an address holding one lists exactly like another.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp", "Zs"})
EMAIL_MESSAGE = "Enter an email address without spaces, invisible or control characters."


def validate_email_text(value: str) -> None:
    """Refuse an email address holding a space or an invisible or control character.

    Such an address would sign up as a second account that reads exactly like
    another one in every list, audit line and email.
    """
    if any(
        character.isspace() or unicodedata.category(character) in _INVISIBLE_CATEGORIES
        for character in value or ""
    ):
        raise ValidationError(EMAIL_MESSAGE, code="invalid")


def clean_text(
    model: type[models.Model], field: str, value: str, *, label: str = "", required: str = ""
) -> str:
    """Return `value` trimmed (newlines as LF), or raise a ValidationError keyed by `field`.

    The rules are those of `model`'s text field `field`: it raises when the
    value is longer than the field's max_length or when the field's validator
    (validate_name or validate_text) refuses a character, even one that
    trimming would drop (as the API schema's pattern does); and when the value
    is empty and `required` says how to fix that. Every service that takes a
    name or a description calls this.
    """
    model_field = model._meta.get_field(field)
    given = normalize_newlines(value or "")
    value = given.strip()
    problem = None
    if required and not value:
        problem = ValidationError(required, code="required")
    elif len(value) > model_field.max_length:
        problem = ValidationError(
            f"Keep the {label or field} under {model_field.max_length} characters.",
            code="too_long",
        )
    else:
        try:
            _text_validator(model_field)(given)
        except ValidationError as error:
            problem = error
    if problem is not None:
        # The code goes on the inner error too: a dict's values would not inherit it.
        raise ValidationError({field: problem}, code=problem.code)
    return value


def text_form_field(model: type[models.Model], field: str, **options) -> forms.CharField:
    """Return a form field for `model`'s text field `field`: its length, whether it may be
    blank and its kind of text come from the model; `options` add label, widget, help..."""
    model_field = model._meta.get_field(field)
    return forms.CharField(
        max_length=model_field.max_length,
        required=not model_field.blank,
        validators=[_text_validator(model_field)],
        **options,
    )


def _text_validator(model_field: models.Field) -> TextValidator:
    return next(v for v in model_field.validators if isinstance(v, TextValidator))


def normalize_newlines(text: str) -> str:
    """Return `text` with CRLF and CR (a browser's textarea sends CRLF) turned into LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def name_repaired(name: str) -> str:
    """Return `name` with each forbidden character made a space, runs of space collapsed, trimmed.

    For data written before the rule: a migration repairs stored names with it.
    """
    return _RUNS_OF_SPACE.sub(" ", _NAME_FORBIDDEN.sub(" ", name or "")).strip()


def text_repaired(text: str) -> str:
    """Return `text` with each forbidden character made a space and its ends trimmed."""
    return _TEXT_FORBIDDEN.sub(" ", normalize_newlines(text or "")).strip()
