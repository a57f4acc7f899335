"""Build refusals keyed by field with a stable code, and read them back per field.

Services raise `field_error(...)`; the JSON API answers with `by_field(error)`:
each field's messages and, in the same order, their codes. A dict's values do not
inherit the code given to the dict, so the code goes on each field's own error.
"""

from __future__ import annotations

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

# What a ValidationError raised without a code is reported as.
DEFAULT_CODE = "invalid"


def field_error(field: str, message: str, code: str) -> ValidationError:
    """Return a ValidationError for `field` whose code is `code` (on the field's error too)."""
    return ValidationError({field: ValidationError(message, code=code)}, code=code)


def by_field(error: ValidationError) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Return `error`'s messages and codes by field; an error of no field is under __all__."""
    groups = error.error_dict if hasattr(error, "error_dict") else {NON_FIELD_ERRORS: error}
    messages: dict[str, list[str]] = {}
    codes: dict[str, list[str]] = {}
    for field, errors in groups.items():
        for each in ValidationError(errors).error_list:
            messages.setdefault(field, []).extend(each.messages)
            codes.setdefault(field, []).append(each.code or DEFAULT_CODE)
    return messages, codes
