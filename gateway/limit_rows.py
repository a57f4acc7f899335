"""Show limits in the Tokens tab's rows: a line with the rate, a usage bar for a quota, and
the Edit limits button (registered with tokens.rows.register_row_extra)."""

from __future__ import annotations

import math
from datetime import UTC
from functools import lru_cache

from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from accounts.templatetags.console import dialog_link
from gateway import limit_spec, limits
from gateway.limit_models import TokenLimits
from gateway.limit_spec import Limits
from tokens import display, rules
from tokens.markup import escape
from tokens.models import Token
from tokens.rows import EMPTY, KEY, SPACER, SUBJECT, RowExtra, RowPage

PERIOD_WORDS = {"second": "second", "minute": "minute"}


@lru_cache(maxsize=1024)
def _url_pattern(slug: str, script_prefix: str, urlconf) -> str:
    return reverse("gateway_limits:edit", args=[slug, display.PLACEHOLDER], urlconf=urlconf)


@lru_cache(maxsize=1024)
def _button_pattern(slug: str, script_prefix: str, urlconf) -> str:
    return dialog_link(
        url=_url_pattern(slug, script_prefix, urlconf),
        icon="limits",
        action="Edit limits",
        subject=SUBJECT,
        id_prefix="limits-",
        key=KEY,
    )


def _button(pattern: str, token: Token) -> SafeString:
    drawn = (
        pattern.replace(display.PLACEHOLDER, escape(display.url_part(token.public_id)))
        .replace(KEY, escape(token.public_id))
        .replace(SUBJECT, escape(token.name))
    )
    return SafeString(drawn)  # dialog_link's markup, the token's values escaped


def usage_note(each: Limits, used: int | None) -> SafeString:
    """Return the row's line about its limits: the rate, and the quota's use as a bar and text."""
    parts = []
    if each.rate is not None:
        burst = ""
        if each.burst != each.rate:
            burst = f", burst {number_format(each.burst, force_grouping=True)}"
        parts.append(
            format_html(
                '<div class="muted small limits-rate">Up to {} requests per {}{}</div>',
                number_format(each.rate, force_grouping=True),
                PERIOD_WORDS[each.rate_period],
                burst,
            )
        )
    if each.quota is not None:
        used = used or 0
        period = " this month" if each.quota_period == "month" else ""
        parts.append(
            format_html(
                '<div class="usage small{}"><meter min="0" max="{}" low="{}" high="{}" '
                'optimum="0" value="{}" aria-hidden="true"></meter> '
                "<span>{} of {} uses{}</span></div>",
                " usage-full" if used >= each.quota else "",
                each.quota,
                # Warn from 80 % (when the first notice goes), alarm when used up.
                math.ceil(each.quota * 0.8) - 0.5,
                each.quota - 0.5,
                min(used, each.quota),
                number_format(used, force_grouping=True),
                number_format(each.quota, force_grouping=True),
                period,
            )
        )
    return mark_safe("".join(parts))  # noqa: S308 format_html's


def row_extra(tokens: list[Token], page: RowPage) -> dict[int, RowExtra]:
    """Return each row's limits line and Edit limits button: one query, and one cache round
    trip if a token of the page has a quota (limits.quotas_used)."""
    rows = TokenLimits.objects.filter(token_id__in=[token.pk for token in tokens])
    found = {row.token_id: limit_spec.of_row(row) for row in rows}
    used = limits.quotas_used(found, timezone.now().astimezone(UTC))
    # The button is drawn once per page; each row fills in its token.
    pattern = _button_pattern(page.slug, get_script_prefix(), get_urlconf())
    extras = {}
    for token in tokens:
        each = found.get(token.pk)
        note = usage_note(each, used.get(token.pk)) if each else EMPTY
        button = EMPTY
        if rules.may_manage(page.actor, token):
            # An old secret in its rotation's grace: its limits went on to its replacement
            # (a spacer keeps the row's buttons in their columns, as for Rotate).
            button = SPACER if token.revoked_at else _button(pattern, token)
        if note or button:
            extras[token.pk] = RowExtra(note=note, button=button)
    return extras
