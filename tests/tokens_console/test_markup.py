"""tokens/markup.py returns what Django's conditional_escape and format_html return."""

from __future__ import annotations

from django.utils import html
from django.utils.functional import lazy, lazystr
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy
from hypothesis import given, settings
from hypothesis import strategies as st

from tokens import markup

# Pure functions: no deadline (the machine may be busy), the same examples every run.
EXAMPLES = settings(deadline=None, derandomize=True, max_examples=300)
HOSTILE = "<script>alert(\"x\")</script> & 'quotes'"
VALUES = st.one_of(
    st.text(),
    st.text().map(SafeString),
    st.integers(),
    st.none(),
    st.sampled_from([HOSTILE, SafeString(HOSTILE), lazystr(HOSTILE), gettext_lazy("Revoked")]),
)


@EXAMPLES
@given(values=st.lists(VALUES, max_size=6))
def test_it_formats_what_format_html_formats(values):
    template = "<p title='{}'>" + "{}" * len(values)
    drawn = markup.format_html(template, "x", *values)
    assert drawn == html.format_html(template, "x", *values)
    assert isinstance(drawn, SafeString)


@EXAMPLES
@given(value=VALUES)
def test_it_escapes_what_conditional_escape_escapes(value):
    assert markup.escape(value) == html.conditional_escape(value)
    assert isinstance(markup.escape(value), SafeString)


def test_user_text_is_escaped_and_safe_html_kept():
    assert markup.format_html("<b>{}</b>{}", HOSTILE, SafeString("<i>kept</i>")) == (
        "<b>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;quotes&#x27;</b>"
        "<i>kept</i>"
    )
    safe_lazy = lazy(lambda: SafeString("<i>lazy</i>"), SafeString)()
    assert markup.escape(safe_lazy) == "<i>lazy</i>"
    assert markup.escape(lazystr(HOSTILE)) == html.escape(HOSTILE)
