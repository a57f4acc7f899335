"""Show limits in the Tokens tab's rows: a line with the rate, a usage bar for a quota, and
the Edit limits button (registered with tokens.rows.register_row_extra)."""

from __future__ import annotations

import math
from datetime import UTC
from functools import lru_cache

from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe

from accounts.templatetags.console import dialog_link
from gateway import limit_spec, limits
from gateway.limit_models import TokenLimits
from gateway.limit_spec import Limits
from tokens import display, rules
from tokens.models import Token
from tokens.rows import KEY, SPACER, SUBJECT, RowExtra, RowPage

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


def _button(token: Token, slug: str) -> SafeString:
    drawn = (
        _button_pattern(slug, get_script_prefix(), get_urlconf())
        .replace(display.PLACEHOLDER, conditional_escape(display.url_part(token.public_id)))
        .replace(KEY, conditional_escape(token.public_id))
        .replace(SUBJECT, conditional_escape(token.name))
    )
    return mark_safe(drawn)  # noqa: S308 dialog_link's markup, the token's values escaped


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
    """Return each row's limits line and Edit limits button: one query, one cache round trip."""
    rows = TokenLimits.objects.filter(token__in=[token.pk for token in tokens])
    found = {row.token_id: limit_spec.of_row(row) for row in rows}
    used = limits.quotas_used(found, timezone.now().astimezone(UTC))
    extras = {}
    for token in tokens:
        each = found.get(token.pk)
        note = usage_note(each, used.get(token.pk)) if each else mark_safe("")
        button = mark_safe("")
        if rules.may_manage(page.actor, token):
            # An old secret in its rotation's grace: its limits went on to its replacement
            # (a spacer keeps the row's buttons in their columns, as for Rotate).
            button = SPACER if token.revoked_at else _button(token, page.slug)
        if note or button:
            extras[token.pk] = RowExtra(note=note, button=button)
    return extras
