"""The Tokens tab's Edit limits dialog and the rows' usage bars."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AuditEvent
from gateway.limit_models import LimitPolicy, TokenLimits
from gateway.limit_services import Quota, RateLimit, token_limits_set
from tests.factories import issue, signed_in
from tests.gateway.test_views import CHECK, nginx

HTMX = {"HX-Request": "true"}


def limits_url(workspace, token) -> str:
    return reverse("gateway_limits:edit", args=[workspace.slug, token.public_id])


def list_url(workspace) -> str:
    return reverse("tokens:list", args=[workspace.slug])


@pytest.fixture
def target(admin_user, workspace):
    return issue(admin_user, workspace, "ci-deploy")[0]


def test_a_manager_sets_limits_and_the_row_shows_them(manager_user, workspace, target):
    client = signed_in(manager_user)
    dialog = client.get(limits_url(workspace, target), headers=HTMX)
    assert dialog.status_code == 200
    assert "Edit limits" in dialog.text
    data = {
        "rate": "10",
        "rate_period": "second",
        "burst": "20",
        "quota": "1000",
        "quota_period": "month",
    }
    saved = client.post(limits_url(workspace, target), data, headers=HTMX)
    assert saved.status_code == 200
    assert f'id="token-{target.public_id}"' in saved.text  # the row, redrawn
    assert "Up to 10 requests per second, burst 20" in saved.text
    assert "0 of 1,000 uses this month" in saved.text
    assert TokenLimits.objects.get(token=target).burst == 20
    assert AuditEvent.objects.filter(action="token.limits_changed").count() == 1


def test_a_member_may_not_open_the_dialog_of_a_workspace_token(member_user, workspace, target):
    client = signed_in(member_user)
    assert client.get(limits_url(workspace, target)).status_code in (403, 404)
    assert client.post(limits_url(workspace, target), {"rate": "1"}).status_code in (403, 404)
    assert not TokenLimits.objects.filter(token=target).exists()
    assert f"limits-{target.public_id}" not in client.get(list_url(workspace)).text


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"rate": "0"}, "rate", "greater than or equal to 1"),
        ({"rate": "-3"}, "rate", "greater than or equal to 1"),
        ({"quota": str(2**64)}, "quota", "less than or equal to"),
        ({"rate": "5", "burst": "4"}, "burst", "at least the rate"),
        ({"burst": "4"}, "rate", "Enter a rate"),
        ({"quota": "11"}, "quota", "at most 10 uses"),
    ],
)
def test_bad_limits_get_field_errors(admin_user, workspace, target, data, field, message):
    LimitPolicy.objects.create(workspace=workspace, max_quota=10)
    form = {"rate_period": "minute", "quota_period": "month", **data}
    response = signed_in(admin_user).post(limits_url(workspace, target), form, headers=HTMX)
    assert response.status_code == 200
    assert f'id="id_{field}_error"' in response.text
    assert message in response.text
    assert not TokenLimits.objects.filter(token=target).exists()


def test_the_usage_bar_shows_use_as_text_and_a_meter(
    client, admin_user, admin_actor, workspace, billing
):
    token, secret = issue(admin_user, workspace, "metered", scopes=["billing:read"])
    token_limits_set(actor=admin_actor, token=token, rate=None, quota=Quota(4, "total"))
    for _ in range(3):
        client.get(CHECK, headers=nginx(secret))
    page = signed_in(admin_user).get(list_url(workspace)).text
    assert "3 of 4 uses</span>" in page
    assert (
        '<meter min="0" max="4" low="3.5" high="3.5" optimum="0" value="3" aria-hidden="true">'
        in page
    )


def test_the_list_reads_limits_with_a_constant_number_of_queries(
    admin_user, admin_actor, workspace
):
    client = signed_in(admin_user)
    first, _ = issue(admin_user, workspace, "first")
    token_limits_set(actor=admin_actor, token=first, rate=RateLimit(1), quota=Quota(9))
    client.get(list_url(workspace))  # warm up
    with CaptureQueriesContext(connection) as few:
        client.get(list_url(workspace))
    for number in range(8):
        more, _ = issue(admin_user, workspace, f"more-{number}")
        token_limits_set(actor=admin_actor, token=more, rate=None, quota=Quota(5 + number))
    with CaptureQueriesContext(connection) as many:
        page = client.get(list_url(workspace)).text
    assert len(many) == len(few)
    assert page.count("<meter") == 9


def create_form(**fields) -> dict:
    return {
        "name": "new-one",
        "kind": "workspace",
        "preset": "read",
        "expiration": "30",
        **fields,
    }


def test_the_add_dialog_has_a_collapsed_limits_section(admin_user, workspace):
    page = signed_in(admin_user).get(reverse("tokens:create", args=[workspace.slug])).text
    assert '<details class="limits-section field">' in page
    assert 'name="limits-rate"' in page


def test_the_add_dialog_creates_a_token_with_limits(admin_user, workspace):
    client = signed_in(admin_user)
    data = create_form(
        **{
            "limits-rate": "3",
            "limits-rate_period": "second",
            "limits-quota": "50",
            "limits-quota_period": "total",
        }
    )
    response = client.post(reverse("tokens:create", args=[workspace.slug]), data, headers=HTMX)
    assert response.status_code == 200
    limits = TokenLimits.objects.get(token__name="new-one")
    assert (limits.rate, limits.burst, limits.quota, limits.quota_period) == (3, 3, 50, "total")


def test_refused_limits_create_no_token_and_show_in_the_open_section(admin_user, workspace):
    LimitPolicy.objects.create(workspace=workspace, max_rate_per_minute=60)
    client = signed_in(admin_user)
    data = create_form(
        **{"limits-rate": "2", "limits-rate_period": "second", "limits-quota_period": "month"}
    )
    response = client.post(reverse("tokens:create", args=[workspace.slug]), data, headers=HTMX)
    assert '<details class="limits-section field" open>' in response.text
    assert "at most 60 requests per minute" in response.text
    assert not TokenLimits.objects.exists()
    from tokens.models import Token

    assert not Token.objects.filter(name="new-one").exists()


def test_the_add_dialog_offers_the_workspace_defaults(admin_user, workspace):
    LimitPolicy.objects.create(
        workspace=workspace, default_quota=1000, default_quota_period="month"
    )
    page = signed_in(admin_user).get(reverse("tokens:create", args=[workspace.slug])).text
    assert 'name="limits-quota" value="1000"' in page
