"""Console query parameters: unreadable or huge values are ignored and named, never a 500."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import HTMX
from tests.tokens_console.conftest import parse

pytestmark = pytest.mark.django_db

# isdigit() is true for the first three, and int() refuses them; int() reads "٣" as 3.
UNREADABLE = ["²", "①", "¹", "٣", "9" * 5000, "-1", "0", "3651", "1.5", " "]
DAY_FILTERS = ["expiring", "unused", "revoked_within"]
LIST = reverse("tokens:list", kwargs={"slug": "acme"})


def problems(response) -> list[str]:
    """Return the notes saying which filters the list ignored."""
    return [node.text() for node in parse(response).iter() if "filter-problem" in node.classes()]


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["page", "htmx"])
@pytest.mark.parametrize("value", UNREADABLE, ids=repr)
@pytest.mark.parametrize("parameter", DAY_FILTERS)
def test_a_bad_day_filter_shows_the_list_unfiltered_and_says_so(
    admin_client, ws_token, parameter, value, headers
):
    response = admin_client.get(LIST, {parameter: value}, **headers)
    assert response.status_code == 200
    assert ws_token.name in response.content.decode()
    expected = (
        f"The {parameter} filter was ignored: it takes a whole number of days from 1 to 3650."
    )
    assert problems(response) == ([expected] if value.strip() else [])


@pytest.mark.parametrize("parameter", DAY_FILTERS)
def test_a_good_day_filter_still_filters(admin_client, ws_token, parameter):
    response = admin_client.get(LIST, {parameter: "3650"})
    assert response.status_code == 200
    assert problems(response) == []
    assert "3650 days" in response.content.decode()


@pytest.mark.parametrize("value", UNREADABLE, ids=repr)
def test_a_bad_page_number_shows_the_first_page(admin_client, ws_token, value):
    response = admin_client.get(LIST, {"page": value})
    assert response.status_code == 200
    assert ws_token.name in response.content.decode()


@pytest.mark.parametrize("parameter", ["status", "kind"])
def test_an_unknown_status_or_kind_is_ignored_and_named(admin_client, ws_token, parameter):
    response = admin_client.get(LIST, {parameter: "²"})
    assert response.status_code == 200
    assert ws_token.name in response.content.decode()
    assert problems(response)[0].startswith(f"The {parameter} filter was ignored")


@pytest.mark.parametrize("value", UNREADABLE, ids=repr)
def test_a_bad_page_number_on_a_tokens_activity_shows_the_first_page(admin_client, ws_token, value):
    url = reverse("tokens:activity", kwargs={"slug": "acme", "public_id": ws_token.public_id})
    response = admin_client.get(url, {"page": value})
    assert response.status_code == 200
    assert "token.created" in response.content.decode()


@pytest.mark.parametrize("value", UNREADABLE, ids=repr)
def test_an_unreadable_lifetime_preview_shows_no_impact(admin_client, ws_token, value):
    url = reverse("tokens:policies", kwargs={"slug": "acme"})
    response = admin_client.get(url, {"max_lifetime_days": value}, **HTMX)
    assert response.status_code == 200
