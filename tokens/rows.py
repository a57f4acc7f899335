"""Draw the Tokens tab's rows in Python: a page of them through the template engine cost
about 1.2 ms per row (some 120 variable lookups, a dozen tags and filters each).

The HTML is what templates/tokens/list.html drew with {% partial token-row %}
(tests/tokens_console/test_rows.py renders both); every value goes through
format_html (tokens/markup.py's, which returns what Django's does, faster), so user text
(names, descriptions, emails, resources) stays escaped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from functools import lru_cache

from django.db.models import QuerySet
from django.urls import get_script_prefix, get_urlconf
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import capfirst
from django.utils.translation import get_language

from accounts import time_words
from accounts.templatetags.console import dialog_link
from tokens import display, rules
from tokens.actors import Actor
from tokens.markup import escape, format_html
from tokens.models import RevokeReason, Token, TokenStatus

# Where render_rows puts the names of a token's resources (load_resource_names).
RESOURCE_NAMES = "row_resource_names"
# What a row shows of the people and the token that made its token (all of the token's own
# columns are loaded): reading every column of up to 50 users a page cost ≈ 0.8 ms.
RELATED_SHOWN = ("owner__email", "created_by__email", "created_by_token__name")
URL_NAMES = ("activity", "reveal", "rename", "rotate", "revoke")
# The dialog buttons of a row, by URL name: (action, icon, danger).
BUTTONS = {
    "rename": ("Rename", "rename", False),
    "rotate": ("Rotate", "rotate", False),
    "revoke": ("Revoke", "remove", True),
}
# Stand for a row's token id and name in the buttons drawn once per page (display.PLACEHOLDER
# stands for the id in their URLs). Escaping leaves them as they are, and the name, which
# is user text, goes in last, so nothing it holds is replaced again.
KEY = "~key~"
SUBJECT = "~subject~"
REVEAL_ICON = mark_safe(  # constant markup
    '<svg aria-hidden="true" viewBox="0 0 24 24" width="18" height="18">'
    '<path d="M2 12s3.5-7 10-7 10 7 10 7-3.5 7-10 7S2 12 2 12z" /><circle cx="12" cy="12" r="3" />'
    "</svg>"
)
COPY_ICON = mark_safe(  # constant markup
    '<svg aria-hidden="true" viewBox="0 0 24 24" width="18" height="18">'
    '<rect x="9" y="9" width="11" height="11" rx="2" /><path d="M5 15V6a2 2 0 0 1 2-2h9" />'
    "</svg>"
)
SPACER = mark_safe('<span class="icon-spacer" aria-hidden="true"></span>')  # constant markup
# What a view exempt from CSRF gets as its token (django.template.context_processors.csrf).
NO_CSRF = "NOTPROVIDED"
# Constant markup and words, marked safe once rather than escaped on every row.
NEVER = mark_safe('<span class="muted">Never</span>')
NO_DATE = mark_safe('<span class="muted">—</span>')
ALL_RESOURCES = mark_safe("All resources")
UNKNOWN_ADDRESS = mark_safe("an unknown address")
WARN_CLASS = mark_safe(' class="warn"')
WARN_SIGN = mark_safe('<span aria-hidden="true">⚠ </span>')
SOON = mark_safe('<span class="visually-hidden"> (soon)</span>')
ROTATED = mark_safe('\n    <div class="muted small rotated-note">rotated; old secret</div>')


EMPTY = mark_safe("")


@dataclass(frozen=True, slots=True)
class RowExtra:
    """What another app adds to a row: a line under its access, a button before Revoke."""

    note: SafeString = EMPTY
    button: SafeString = EMPTY


# Other apps add to rows (DESIGN §1: tokens never imports them): extra(tokens, page) returns
# {token pk: RowExtra}, once per page, so what it reads does not grow with the rows.
_row_extras: list = []


def register_row_extra(extra) -> None:
    """Let `extra(tokens, page)` add a note and a button to the rows of `tokens`."""
    _row_extras.append(extra)


@dataclass(frozen=True, slots=True)
class Row:
    """One token as its row shows it; its name and id escaped once, for they appear up to
    six times."""

    token: Token
    status: str
    name: SafeString
    public_id: SafeString
    url_id: SafeString  # the id as the token's URLs hold it (display.url_part)


@dataclass
class RowPage:
    """What every row of one page shares: who looks, the workspace's URLs, the time, the time
    zone and language dates are said in (read once: each read is a thread-local lookup)."""

    slug: str
    actor: Actor
    retrievable: bool
    csrf_token: str = ""
    now: datetime = field(default_factory=timezone.now)
    zone: tzinfo = field(default_factory=timezone.get_current_timezone)
    language: str | None = field(default_factory=get_language)
    urls: dict[str, str] = field(init=False)
    _escaped_urls: dict[str, SafeString] = field(init=False)
    buttons: dict[str, SafeString] = field(init=False)
    _scope_words: dict[tuple[str, ...], str] = field(init=False, default_factory=dict)
    extras: dict[int, list[RowExtra]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.urls, self._escaped_urls, self.buttons = _page_markup(
            self.slug, get_script_prefix(), get_urlconf()
        )

    def button(self, name: str, row: Row) -> SafeString:
        """Return the row's dialog button `name`: the page's, holding the row's token."""
        drawn = (
            self.buttons[name]
            .replace(display.PLACEHOLDER, row.url_id)
            .replace(KEY, row.public_id)
            .replace(SUBJECT, row.name)
        )
        return SafeString(drawn)  # the page's markup, the row's values escaped

    def url(self, name: str, row: Row) -> SafeString:
        """Return the URL of the page `name` of the row's token, escaped for an attribute."""
        return SafeString(self._escaped_urls[name].replace(display.PLACEHOLDER, row.url_id))

    def add_extras(self, tokens: list[Token]) -> None:
        """Ask the registered extras for what they add to the rows of `tokens`."""
        for token in tokens:
            self.extras.setdefault(token.pk, [])
        for extra in _row_extras:
            for pk, added in extra(tokens, self).items():
                self.extras[pk].append(added)

    def added(self, token: Token, part: str) -> list[SafeString]:
        """Return the non-empty `part` ("note" or "button") of each extra of the token's row."""
        if token.pk not in self.extras:
            self.add_extras([token])
        return [getattr(each, part) for each in self.extras[token.pk] if getattr(each, part)]

    def scope_words(self, scopes) -> str:
        """Return display.scopes_in_words(scopes), once per set of scopes on the page."""
        key = tuple(scopes or ())
        if key not in self._scope_words:
            self._scope_words[key] = display.scopes_in_words(key)
        return self._scope_words[key]


@lru_cache(maxsize=1024)
def _page_markup(slug: str, script_prefix: str, urlconf) -> tuple[dict, dict, dict]:
    """Return the token URLs of the workspace `slug` with display.PLACEHOLDER for the id, as
    they are and escaped, and the rows' dialog buttons: the same for every page of it, so
    drawn once per process (and script prefix), not once per page."""
    urls = {name: display.token_url_pattern(name, slug) for name in URL_NAMES}
    escaped = {name: escape(url) for name, url in urls.items()}
    # {% dialog_link %} three times a row was a fifth of a row's cost: drawn once here.
    buttons = {
        name: dialog_link(
            url=urls[name],
            icon=icon,
            action=action,
            subject=SUBJECT,
            id_prefix=f"{name}-",
            key=KEY,
            danger=danger,
        )
        for name, (action, icon, danger) in BUTTONS.items()
    }
    return urls, escaped, buttons


def with_row_relations(tokens: QuerySet[Token]) -> QuerySet[Token]:
    """Return `tokens` with what their rows show of the people and the token that made them
    (joined, the columns shown: RELATED_SHOWN); render_rows reads their resources."""
    return tokens.select_related("owner", "created_by", "created_by_token").only(
        *[field.name for field in Token._meta.concrete_fields], *RELATED_SHOWN
    )


def load_resource_names(tokens: list[Token]) -> None:
    """Give each of `tokens` the names of its resources, in name order, with one query.

    Names are all a row shows of them: their pairs are read as values, not through
    prefetch_related, whose related manager and model instances cost about three times
    as much for a page.
    """
    names: dict[int, list[str]] = {token.pk: [] for token in tokens}
    pairs = (
        Token.resources.through.objects.filter(token_id__in=list(names))
        .order_by("resource__name")
        .values_list("token_id", "resource__name")
    )
    for token_id, name in pairs:
        names[token_id].append(name)
    for token in tokens:
        setattr(token, RESOURCE_NAMES, names[token.pk])


def render_rows(tokens: Iterable[Token], page: RowPage) -> SafeString:
    """Return the table rows of `tokens` (their resources read in one query)."""
    tokens = list(tokens)
    if tokens:
        load_resource_names(tokens)
    if _row_extras:
        page.add_extras(tokens)
    return SafeString("".join(render_row(token, page) for token in tokens))  # format_html's


def render_row(token: Token, page: RowPage) -> SafeString:
    """Return one token's table row: name, value, access, dates, status and buttons."""
    row = Row(
        token=token,
        status=str(token.status(page.now)),
        name=escape(token.name),
        public_id=escape(token.public_id),
        url_id=escape(display.url_part(token.public_id)),
    )
    return format_html(
        '<tr id="token-{}" class="token-row row-{}">\n'
        "{}\n"
        '  <td><code class="censored">{}</code></td>\n'
        "{}\n"
        '  <td><time datetime="{}" title="{} UTC">{}</time></td>\n'
        "  <td>\n    {}\n  </td>\n"
        "  <td>\n    {}\n  </td>\n"
        "  <td>\n    {}\n  </td>\n"
        '  <td class="actions">\n    {}\n  </td>\n'
        "</tr>\n",
        row.public_id,
        row.status,
        _name_cell(row, page),
        token.censored,
        _access_cell(token, page),
        display.iso(token.created_at, zone=page.zone),
        display.stamp(token.created_at, zone=page.zone, language=page.language),
        time_words.ago(token.created_at, page.now, language=page.language),
        _ends(row, page),
        _last_used(row, page),
        _status(row),
        _actions(row, page) if row.status == TokenStatus.ACTIVE else "",
    )


def _name_cell(row: Row, page: RowPage) -> SafeString:
    token = row.token
    if token.owner_id and token.owner_id == token.created_by_id:
        who = format_html("by {} · acts as them", token.created_by.email)
    elif token.owner_id:
        who = format_html("acts as {} · by {}", token.owner.email, token.creator_label)
    else:
        who = format_html("by {}", token.creator_label)
    return format_html(
        "  <td>\n"
        '    <div class="token-name">\n'
        '      <a class="token-link" href="{}" title="Activity of {}">'
        '<span class="strong">{}</span></a>\n'
        '      <span class="badge">{}</span>\n'
        "    </div>\n"
        "{}"
        '    <div class="muted small">\n      {}\n    </div>\n'
        "  </td>",
        page.url("activity", row),
        row.name,
        row.name,
        token.get_kind_display(),
        format_html('    <div class="muted small">{}</div>\n', token.description)
        if token.description
        else "",
        who,
    )


def _access_cell(token: Token, page: RowPage) -> SafeString:
    names = getattr(token, RESOURCE_NAMES, None)
    if names is None:  # a row drawn alone, not by render_rows
        names = [resource.name for resource in token.resources.all()]
    where = format_html("Only {}", ", ".join(names)) if names else ALL_RESOURCES
    ips = ""
    if token.allowed_ips:
        count = len(token.allowed_ips)
        ips = format_html(" · {}&nbsp;IP&nbsp;range{}", count, "" if count == 1 else "s")
    return format_html(
        '  <td class="col-access">\n'
        "    <div>{}</div>\n"
        '    <div class="muted small">{}{}</div>{}\n'
        "  </td>",
        page.scope_words(token.scopes),
        where,
        ips,
        mark_safe("".join(page.added(token, "note"))) if _row_extras else "",  # noqa: S308 extras'
    )


def _ends(row: Row, page: RowPage) -> SafeString:
    token = row.token
    ends = token.ends_at
    if row.status == TokenStatus.ACTIVE and ends:
        soon = display.expires_soon(ends, page.now)
        shown = format_html(
            '<time datetime="{}" title="{} UTC"{}>{}{}</time>{}',
            display.iso(ends, zone=page.zone),
            display.stamp(ends, zone=page.zone, language=page.language),
            WARN_CLASS if soon else "",
            WARN_SIGN if soon else "",
            time_words.until(ends, page.now, language=page.language),
            SOON if soon else "",
        )
        if token.revoke_reason == RevokeReason.ROTATION:
            shown += ROTATED
        return shown
    if row.status == TokenStatus.ACTIVE:
        return NEVER
    if token.expires_at:
        return format_html(
            '<time datetime="{}">{}</time>',
            display.iso(token.expires_at, zone=page.zone),
            display.day(token.expires_at, zone=page.zone, language=page.language),
        )
    return NO_DATE


def _last_used(row: Row, page: RowPage) -> SafeString:
    token = row.token
    if not token.last_used_at:
        return NEVER
    return format_html(
        '<span class="has-tip" tabindex="0" aria-describedby="used-{}">{}</span>\n    '
        '<span class="tip" role="tooltip" id="used-{}">from {}</span>',
        row.public_id,
        time_words.ago(token.last_used_at, page.now, language=page.language),
        row.public_id,
        token.last_used_ip or UNKNOWN_ADDRESS,
    )


def _status(row: Row) -> SafeString:
    if row.status == TokenStatus.REVOKED:
        reason = format_html(
            '<div class="muted small">{}</div>', row.token.get_revoke_reason_display()
        )
    else:
        reason = ""
    return format_html(
        '<span class="status status-{}">{}</span>\n    {}', row.status, capfirst(row.status), reason
    )


def _actions(row: Row, page: RowPage) -> SafeString:
    actor, token = page.actor, row.token
    parts = []
    if page.retrievable and token.encrypted_secret and rules.may_reveal(actor, token):
        parts.append(_reveal_form(row, page))
    if rules.may_manage(actor, token):
        parts.append(page.button("rename", row))
        parts.append(page.button("rotate", row) if not token.revoked_at else SPACER)
    if _row_extras:
        parts.extend(page.added(token, "button"))
    if rules.may_revoke(actor, token):
        parts.append(page.button("revoke", row))
    return SafeString("\n    ".join(parts))  # each part is format_html's or a constant


def _reveal_form(row: Row, page: RowPage) -> SafeString:
    url = page.url("reveal", row)
    csrf = (
        format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', page.csrf_token)
        if page.csrf_token and page.csrf_token != NO_CSRF
        else ""
    )
    return format_html(
        '<form class="inline-form" method="post" action="{}" hx-post="{}" '
        'hx-target="#modal-content" hx-swap="innerHTML">\n      {}\n      '
        '<button id="reveal-{}" class="icon-button" type="submit" name="purpose" value="reveal" '
        'aria-label="Reveal {}" title="Reveal token">\n        {}\n      </button>\n      '
        '<button id="copy-{}" class="icon-button" type="submit" name="purpose" value="copy" '
        'aria-label="Copy {}" title="Copy token">\n        {}\n      </button>\n    '
        "</form>",
        url,
        url,
        csrf,
        row.public_id,
        row.name,
        REVEAL_ICON,
        row.public_id,
        row.name,
        COPY_ICON,
    )
