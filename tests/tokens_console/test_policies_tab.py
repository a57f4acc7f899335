"""Settings → Policies: everyone reads, Admins edit; validation next to the field; the live
lifetime preview; what a stricter policy does (and does not do) to tokens."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from tests.conftest import PASSWORD
from tests.factories import HTMX, actor_of, issue, signed_in
from tests.tokens_console.conftest import errors_of, field_of, parse
from tokens import services
from tokens.models import RevealPolicy, Token, TokenKind, WorkspacePolicy
from tokens.services import policies

pytestmark = pytest.mark.django_db

FIELDS = ("max_lifetime_days", "allow_never_expiring", "members_may_create_personal")


def policies_url(slug: str = "acme") -> str:
    return reverse("tokens:policies", kwargs={"slug": slug})


def form_data(**overrides) -> dict:
    """Return the default policies as the form posts them (checkboxes on, no limit), with the
    password its sudo prompt asks for."""
    data = {
        "password": PASSWORD,
        "max_lifetime_days": "",
        "allow_never_expiring": "on",
        "members_may_create_personal": "on",
        "reveal_policy": RevealPolicy.SHOW_ONCE,
    }
    for name, value in overrides.items():
        if value is None:
            data.pop(name, None)  # an unticked checkbox is not sent
        else:
            data[name] = value
    return data


def policy_of(workspace) -> WorkspacePolicy:
    return WorkspacePolicy.objects.get(pk=services.workspace_policy(workspace).pk)


def snapshot(workspace) -> tuple:
    policy = policy_of(workspace)
    return (
        tuple(getattr(policy, name) for name in (*FIELDS, "reveal_policy")),
        # The right password typed with a refused change still starts sudo mode (audited).
        AuditEvent.objects.exclude(action="sudo.confirmed").count(),
    )


def controls(response) -> list:
    """Return the policy form's inputs."""
    names = {*FIELDS, "reveal_policy"}
    return [n for n in parse(response).find_all("input") if n.attrs.get("name") in names]


def radio(response, value: str):
    return next(n for n in controls(response) if n.attrs.get("value") == value)


def save_button(response):
    return next(
        (b for b in parse(response).find_all("button") if b.text() == "Save policies"), None
    )


def policy_events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="policy.updated"))


# Who reads and who edits -----------------------------------------------------------------


@pytest.mark.parametrize("who", ["manager_user", "member_user"])
def test_managers_and_members_read_the_policies_without_editing(request, workspace, who):
    client = signed_in(request.getfixturevalue(who))

    response = client.get(policies_url())

    assert response.status_code == 200
    inputs = controls(response)
    assert {n.attrs["name"] for n in inputs} == {*FIELDS, "reveal_policy"}
    assert all("disabled" in n.attrs for n in inputs)
    assert save_button(response) is None
    assert "Only Admins can change policies." in response.content.decode()


def test_admins_see_an_editable_form(admin_client, workspace):
    response = admin_client.get(policies_url())

    assert response.status_code == 200
    assert not [n.attrs["name"] for n in controls(response) if "disabled" in n.attrs]
    assert save_button(response) is not None
    assert "Only Admins can change policies." not in response.content.decode()
    assert "checked" in radio(response, RevealPolicy.SHOW_ONCE).attrs


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("who", ["manager_user", "member_user"])
def test_a_post_by_a_non_admin_is_refused(request, workspace, who, htmx):
    client = signed_in(request.getfixturevalue(who))
    before = snapshot(workspace)

    response = client.post(
        policies_url(),
        form_data(max_lifetime_days="30", members_may_create_personal=None),
        **(HTMX if htmx else {}),
    )

    assert response.status_code == 403
    assert snapshot(workspace) == before


@pytest.mark.parametrize("who", ["manager_user", "member_user"])
def test_the_service_refuses_non_admins_too(request, workspace, who):
    with pytest.raises(PermissionDenied):
        policies.policy_update(
            actor=actor_of(request.getfixturevalue(who), workspace),
            workspace=workspace,
            max_lifetime_days=30,
            allow_never_expiring=True,
            members_may_create_personal=True,
            reveal_policy=RevealPolicy.SHOW_ONCE,
        )


def test_an_outsider_gets_404(workspace, outsider):
    client = signed_in(outsider)

    assert client.get(policies_url()).status_code == 404
    assert client.post(policies_url(), form_data(max_lifetime_days="30")).status_code == 404


# Saving ----------------------------------------------------------------------------------


def test_an_admin_saves_the_policies_with_one_audit_event(admin_client, admin_user, workspace):
    response = admin_client.post(
        policies_url(),
        form_data(
            max_lifetime_days="90",
            allow_never_expiring=None,
            members_may_create_personal=None,
            reveal_policy=RevealPolicy.RETRIEVABLE,
        ),
    )

    assert response.status_code == 302
    assert response["Location"] == policies_url()
    policy = policy_of(workspace)
    assert policy.max_lifetime_days == 90
    assert policy.allow_never_expiring is False
    assert policy.members_may_create_personal is False
    assert policy.reveal_policy == RevealPolicy.RETRIEVABLE
    [event] = policy_events()
    assert event.actor_user == admin_user
    assert event.workspace == workspace
    assert event.details["changed"] == {
        "max_lifetime_days": {"from": None, "to": 90},
        "allow_never_expiring": {"from": True, "to": False},
        "members_may_create_personal": {"from": True, "to": False},
        "reveal_policy": {"from": "show_once", "to": "retrievable"},
    }
    page = admin_client.get(response["Location"])
    assert "Policies saved." in page.content.decode()
    assert parse(page).find("input", name="max_lifetime_days").attrs["value"] == "90"


def test_the_event_lists_only_the_fields_that_changed(admin_client, workspace):
    admin_client.post(policies_url(), form_data(max_lifetime_days="30"))

    [event] = policy_events()
    assert set(event.details["changed"]) == {"max_lifetime_days"}


def test_saving_unchanged_policies_writes_no_event(admin_client, workspace):
    services.workspace_policy(workspace)
    before = snapshot(workspace)

    response = admin_client.post(policies_url(), form_data(), follow=True)

    assert response.status_code == 200
    assert snapshot(workspace) == before
    assert policy_events() == []
    assert "Nothing changed." in response.content.decode()


def test_switching_to_show_once_says_how_many_copies_were_erased(
    admin_client, admin_user, workspace
):
    policy = services.workspace_policy(workspace)
    policy.reveal_policy = RevealPolicy.RETRIEVABLE
    policy.save()
    token, _ = issue(admin_user, workspace, "ci-deploy")
    assert token.encrypted_secret

    response = admin_client.post(policies_url(), form_data(), follow=True)

    token.refresh_from_db()
    assert token.encrypted_secret == ""
    assert token.is_active
    assert "Erased the stored copies of 1 token(s)" in response.content.decode()
    [event] = policy_events()
    assert event.details["erased_copies"] == 1


# Validation ------------------------------------------------------------------------------


# "٣٠" and "3_0" are 30 to `int`; the preview beside the field refuses them, so the form does too.
@pytest.mark.parametrize("typed", ["0", "-1", "40000", "abc", "1.5", "٣٠", "3_0", "²", "9" * 5000])
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_an_invalid_lifetime_shows_an_error_next_to_the_field(admin_client, workspace, typed, htmx):
    before = snapshot(workspace)

    response = admin_client.post(
        policies_url(),
        form_data(max_lifetime_days=typed, members_may_create_personal=None),
        **(HTMX if htmx else {}),
    )

    assert response.status_code == 200
    dom = parse(response)
    field = field_of(dom, "max_lifetime_days")
    assert errors_of(field)
    control = dom.find("input", name="max_lifetime_days")
    assert control.attrs["value"] == typed
    assert control.attrs.get("aria-invalid") == "true"
    # What else was typed is kept too: the unticked box stays unticked.
    members = dom.find("input", name="members_may_create_personal")
    assert "checked" not in members.attrs
    assert snapshot(workspace) == before


def test_retrievable_without_keys_is_refused_next_to_the_radio(admin_client, workspace, settings):
    settings.KEYWARD_TOKEN_ENCRYPTION_KEYS = []
    before = snapshot(workspace)

    response = admin_client.post(policies_url(), form_data(reveal_policy=RevealPolicy.RETRIEVABLE))

    assert response.status_code == 200
    field = field_of(parse(response), "reveal_policy")
    assert "KEYWARD_TOKEN_ENCRYPTION_KEYS" in field.text()
    assert "Retrievable needs encryption keys" in field.text()
    assert "disabled" in radio(response, RevealPolicy.RETRIEVABLE).attrs
    assert "disabled" not in radio(response, RevealPolicy.SHOW_ONCE).attrs
    assert snapshot(workspace) == before


def test_without_keys_the_retrievable_radio_is_disabled_with_an_explanation(
    admin_client, workspace, settings
):
    settings.KEYWARD_TOKEN_ENCRYPTION_KEYS = []

    response = admin_client.get(policies_url())

    retrievable = radio(response, RevealPolicy.RETRIEVABLE)
    assert "disabled" in retrievable.attrs
    help_text = parse(response).find(id=retrievable.attrs["aria-describedby"]).text()
    assert "Not available" in help_text
    assert "KEYWARD_TOKEN_ENCRYPTION_KEYS" in help_text


def test_with_keys_the_retrievable_radio_is_enabled_for_admins(admin_client, workspace):
    response = admin_client.get(policies_url())

    assert "disabled" not in radio(response, RevealPolicy.RETRIEVABLE).attrs
    assert "Not available" not in response.content.decode()


def test_when_keys_go_missing_a_retrievable_workspace_can_still_save_its_policies(
    admin_client, workspace, settings
):
    policy = policy_of(workspace)
    policy.reveal_policy = RevealPolicy.RETRIEVABLE
    policy.save()
    settings.KEYWARD_TOKEN_ENCRYPTION_KEYS = []

    page = admin_client.get(policies_url())
    retrievable_radio = radio(page, RevealPolicy.RETRIEVABLE)
    assert "checked" in retrievable_radio.attrs
    assert "disabled" not in retrievable_radio.attrs  # a disabled radio would not be posted
    help_text = parse(page).find(id=retrievable_radio.attrs["aria-describedby"]).text()
    assert "Encryption keys are missing" in help_text

    response = admin_client.post(
        policies_url(),
        form_data(reveal_policy=RevealPolicy.RETRIEVABLE, members_may_create_personal=None),
    )

    assert response.status_code == 302
    policy = policy_of(workspace)
    assert policy.reveal_policy == RevealPolicy.RETRIEVABLE
    assert policy.members_may_create_personal is False


def test_an_unknown_reveal_policy_is_an_error_not_a_500(admin_client, workspace):
    before = snapshot(workspace)

    response = admin_client.post(policies_url(), form_data(reveal_policy="shout"))

    assert response.status_code == 200
    assert "valid choice" in field_of(parse(response), "reveal_policy").text()
    assert snapshot(workspace) == before


# The lifetime preview --------------------------------------------------------------------


@pytest.fixture
def fleet(workspace, admin_user, manager_user, member_user) -> dict[str, Token]:
    """Return tokens with different lifetimes, by name."""
    now = timezone.now()
    tokens = {
        "forever": issue(admin_user, workspace, "forever")[0],
        "ninety": issue(manager_user, workspace, "ninety", expires_at=now + timedelta(days=90))[0],
        "ten": issue(manager_user, workspace, "ten", expires_at=now + timedelta(days=10))[0],
        "mine-forever": issue(member_user, workspace, "mine", kind=TokenKind.PERSONAL)[0],
        "revoked-forever": issue(admin_user, workspace, "revoked")[0],
        "expired": issue(admin_user, workspace, "expired", expires_at=now + timedelta(days=1))[0],
    }
    services.token_revoke(actor=actor_of(admin_user, workspace), token=tokens["revoked-forever"])
    Token.objects.filter(pk=tokens["expired"].pk).update(expires_at=now - timedelta(days=1))
    return tokens


def preview(client, days: str):
    return client.get(policies_url(), {"max_lifetime_days": days}, **HTMX)


@pytest.mark.parametrize("who", ["admin_user", "manager_user", "member_user"])
def test_the_preview_counts_active_tokens_beyond_the_lifetime(request, fleet, who):
    client = signed_in(request.getfixturevalue(who))

    response = preview(client, "30")

    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    impact = parse(response).find(id="lifetime-impact")
    assert impact is not None
    # forever, ninety and the member's personal token; not revoked, expired or ten.
    assert impact.text().startswith("3 active tokens expire more than 30 days from now, or never.")
    assert "impact-warn" in impact.classes()


def test_the_preview_counts_only_what_exceeds_the_limit(fleet, admin_client):
    assert (
        parse(preview(admin_client, "5"))
        .find(id="lifetime-impact")
        .text()
        .startswith("4 active tokens expire more than 5 days from now, or never.")
    )
    assert (
        parse(preview(admin_client, "100"))
        .find(id="lifetime-impact")
        .text()
        .startswith("2 active tokens expire more than 100 days from now, or never.")
    )


def test_the_preview_says_when_every_token_fits(workspace, manager_user, admin_client):
    issue(manager_user, workspace, "ten", expires_at=timezone.now() + timedelta(days=10))

    impact = parse(preview(admin_client, "30")).find(id="lifetime-impact")

    assert impact.text() == "Every active token already fits within 30 days."
    assert "impact-warn" not in impact.classes()


def test_the_preview_matches_the_service(fleet, workspace):
    assert policies.tokens_beyond_lifetime(workspace, 30) == 3
    assert policies.tokens_beyond_lifetime(workspace, None) == 0


@pytest.mark.parametrize("typed", ["", "0", "-3", "abc", "99999", "²", "٣", "9" * 5000])
def test_the_preview_of_a_non_lifetime_is_empty_not_an_error(fleet, admin_client, typed):
    response = preview(admin_client, typed)

    assert response.status_code == 200
    impact = parse(response).find(id="lifetime-impact")
    assert impact.text() == ""


def test_the_page_shows_the_impact_of_the_saved_lifetime(
    fleet, admin_user, workspace, admin_client
):
    policies.policy_update(
        actor=actor_of(admin_user, workspace),
        workspace=workspace,
        max_lifetime_days=30,
        allow_never_expiring=False,
        members_may_create_personal=True,
        reveal_policy=RevealPolicy.SHOW_ONCE,
    )

    impact = parse(admin_client.get(policies_url())).find(id="lifetime-impact")

    assert impact.text().startswith("3 active tokens expire more than 30 days from now, or never.")
    [event] = policy_events()
    assert event.details["tokens_beyond_lifetime"] == 3


# What a stricter policy does -------------------------------------------------------------


def test_a_stricter_policy_leaves_existing_tokens_alone(fleet, admin_client, workspace):
    before = {t.pk: (t.expires_at, t.revoked_at) for t in Token.objects.filter(workspace=workspace)}

    admin_client.post(
        policies_url(),
        form_data(
            max_lifetime_days="7", allow_never_expiring=None, members_may_create_personal=None
        ),
    )

    assert policy_of(workspace).max_lifetime_days == 7
    after = {t.pk: (t.expires_at, t.revoked_at) for t in Token.objects.filter(workspace=workspace)}
    assert after == before
    for name in ("forever", "ninety", "ten", "mine-forever"):
        assert Token.objects.get(pk=fleet[name].pk).is_active, name


def test_a_new_token_beyond_the_new_maximum_is_refused(admin_client, admin_user, workspace):
    admin_client.post(policies_url(), form_data(max_lifetime_days="30"))
    actor = actor_of(admin_user, workspace)

    with pytest.raises(ValidationError) as too_long:
        services.token_create(
            actor=actor,
            workspace=workspace,
            name="too-long",
            scopes=["tokens:read"],
            expires_at=timezone.now() + timedelta(days=60),
        )
    with pytest.raises(ValidationError) as never:
        services.token_create(
            actor=actor, workspace=workspace, name="forever", scopes=["tokens:read"]
        )

    assert "expires_at" in too_long.value.message_dict
    assert "expires_at" in never.value.message_dict
    assert not Token.objects.filter(workspace=workspace).exists()
    token, _ = services.token_create(
        actor=actor,
        workspace=workspace,
        name="fits",
        scopes=["tokens:read"],
        expires_at=timezone.now() + timedelta(days=29),
    )
    assert token.is_active


def test_never_expiring_follows_the_policy(admin_client, admin_user, workspace):
    admin_client.post(policies_url(), form_data(allow_never_expiring=None))
    actor = actor_of(admin_user, workspace)

    with pytest.raises(ValidationError) as refused:
        services.token_create(actor=actor, workspace=workspace, name="x", scopes=["tokens:read"])
    assert "expires_at" in refused.value.message_dict

    admin_client.post(policies_url(), form_data())
    token, _ = services.token_create(
        actor=actor, workspace=workspace, name="x", scopes=["tokens:read"]
    )
    assert token.expires_at is None


def test_members_personal_tokens_follow_the_policy(
    admin_client, member_user, member_client, workspace
):
    admin_client.post(policies_url(), form_data(members_may_create_personal=None))
    actor = actor_of(member_user, workspace)

    with pytest.raises(PermissionDenied):
        services.token_create(
            actor=actor,
            workspace=workspace,
            name="mine",
            kind=TokenKind.PERSONAL,
            scopes=["tokens:read"],
        )
    refused = member_client.post(
        reverse("tokens:create", kwargs={"slug": "acme"}),
        {"name": "mine", "kind": TokenKind.PERSONAL, "preset": "read", "expiration": "30"},
    )
    assert refused.status_code == 403
    assert not Token.objects.filter(workspace=workspace).exists()

    admin_client.post(policies_url(), form_data())
    token, _ = services.token_create(
        actor=actor,
        workspace=workspace,
        name="mine",
        kind=TokenKind.PERSONAL,
        scopes=["tokens:read"],
    )
    assert token.owner == member_user


def test_turning_off_members_personal_tokens_revokes_nothing(admin_client, member_user, workspace):
    token, _ = issue(member_user, workspace, "mine", kind=TokenKind.PERSONAL)

    admin_client.post(policies_url(), form_data(members_may_create_personal=None))

    token.refresh_from_db()
    assert token.is_active


# CSP -------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin_user", "member_user"])
def test_the_page_has_a_strict_csp_and_no_inline_styles_or_scripts(request, workspace, who):
    client = signed_in(request.getfixturevalue(who))

    response = client.get(policies_url())

    header = response["Content-Security-Policy"]
    assert "unsafe-inline" not in header
    assert "unsafe-eval" not in header
    nonce = re.search(r"'nonce-([^']+)'", header).group(1)
    page = response.content.decode()
    scripts = re.findall(r"<script\b[^>]*>", page)
    assert scripts
    for tag in scripts:
        assert " src=" in tag, tag
        assert f'nonce="{nonce}"' in tag, tag
    assert not re.search(r"\sstyle=", page)
    assert "<style" not in page
    assert "hx-on" not in page


def test_the_preview_partial_has_no_inline_styles_or_scripts(fleet, admin_client):
    html = preview(admin_client, "30").content.decode()

    assert "<script" not in html
    assert not re.search(r"\sstyle=", html)


def test_the_preview_does_not_count_a_token_that_stops_after_its_grace_period(
    workspace, admin_user, admin_client
):
    old, _ = issue(admin_user, workspace, "forever")
    services.token_rotate(actor=actor_of(admin_user, workspace), token=old, grace="1h")

    impact = parse(preview(admin_client, "30")).find(id="lifetime-impact")

    # Only the new token lives longer than 30 days; the old one stops within the hour.
    assert policies.tokens_beyond_lifetime(workspace, 30) == 1
    assert impact.text().startswith("1 active token expires more than 30 days from now, or never.")


def test_the_lifetime_input_takes_its_limits_from_the_form(admin_client, workspace, monkeypatch):
    from django import forms

    from tokens.views.policies import PolicyForm

    shorter = forms.IntegerField(required=False, min_value=1, max_value=365)
    monkeypatch.setitem(PolicyForm.base_fields, "max_lifetime_days", shorter)

    response = admin_client.get(policies_url())

    lifetime = next(n for n in controls(response) if n.attrs["name"] == "max_lifetime_days")
    assert (lifetime.attrs["min"], lifetime.attrs["max"]) == ("1", "365")
