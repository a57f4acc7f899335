"""Names are one line of printable text: the rule, and each door that applies it (forms,
admin, services, the migration that repairs stored names). The API: tests/tokens/test_names.py.
Email addresses hold no invisible characters, by the same doors."""

from __future__ import annotations

import importlib
import re
from typing import Annotated

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st
from pydantic import Field, TypeAdapter
from pydantic import ValidationError as PydanticError

from accounts import services, text
from accounts.forms import InvitationForm, SignupForm, WorkspaceForm
from accounts.models import Invitation, User, Workspace
from accounts.models.users import normalize_email
from tests.conftest import PASSWORD
from tests.factories import signed_in

FORBIDDEN_IN_NAMES = {
    "carriage return": "Acme\rCorp",
    "line feed": "Acme\nCorp",
    "tab": "Acme\tCorp",
    "NUL": "Acme\x00Corp",
    "next line (C1)": "Acme\x85Corp",
    "delete": "Acme\x7fCorp",
    "line separator": "Acme\u2028Corp",
    "paragraph separator": "Acme\u2029Corp",
    "lone surrogate": "Acme\ud800Corp",
    "right-to-left override": "Acme\u202eproC",
    "left-to-right embedding": "Acme\u202aCorp",
    "first-strong isolate": "Acme\u2068Corp",
    "left-to-right mark": "Acme\u200eCorp",
    "Arabic letter mark": "Acme\u061cCorp",
}
PRINTABLE = ["Acme Corp", "Déploiement — prod", "東京 CI", "rocket 🚀 deploy", "O'Brien & Co."]


@pytest.mark.parametrize("value", FORBIDDEN_IN_NAMES.values(), ids=FORBIDDEN_IN_NAMES.keys())
def test_a_name_refuses_each_forbidden_character(value):
    with pytest.raises(ValidationError) as caught:
        text.validate_name(value)
    assert caught.value.code == "invalid"
    assert caught.value.message == text.NAME_MESSAGE


@pytest.mark.parametrize("value", PRINTABLE)
def test_a_name_accepts_printable_text_in_any_script(value):
    text.validate_name(value)
    text.validate_text(value)


def test_a_description_may_span_lines_and_hold_tabs_but_no_other_control():
    text.validate_text("first line\nsecond\tcolumn\r\nthird")
    for value in ("a\x00b", "a\x0bb", "a\u202eb", "a\u2028b", "a\udfffb"):
        with pytest.raises(ValidationError):
            text.validate_text(value)


@given(st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=20))
def test_the_schema_pattern_says_what_the_validator_does(value):
    def valid(validator) -> bool:
        try:
            validator(value)
        except ValidationError:
            return False
        return True

    assert bool(re.fullmatch(text.NAME_PATTERN, value)) == valid(text.validate_name)
    assert bool(re.fullmatch(text.TEXT_PATTERN, value)) == valid(text.validate_text)


@given(st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=20))
def test_a_required_name_passes_the_schema_exactly_when_the_service_accepts_it(value):
    try:
        text.clean_text(Workspace, "name", value, required="Give a name.")
    except ValidationError:
        accepted = False
    else:
        accepted = True

    # pydantic checks the pattern with Rust's regex engine; schema tools use Python's or ECMA's.
    assert _fits(value) == accepted
    assert bool(re.fullmatch(text.GIVEN_NAME_PATTERN, value)) == accepted


GIVEN_NAME = TypeAdapter(Annotated[str, Field(pattern=text.GIVEN_NAME_PATTERN)])


def _fits(value: str) -> bool:
    try:
        GIVEN_NAME.validate_python(value)
    except PydanticError:
        return False
    return True


def test_a_repaired_name_turns_forbidden_characters_into_single_spaces():
    assert text.name_repaired("  Acme\r\n\u202eCorp\x00 ") == "Acme Corp"
    assert text.text_repaired("one\r\ntwo\x00three\r") == "one\ntwo three"


# Forms and services ----------------------------------------------------------------------


def test_signup_form_refuses_a_workspace_name_with_a_carriage_return():
    form = SignupForm(
        {
            "full_name": "Ann\u202eevil",
            "email": "ann@example.com",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "workspace_name": "Acme\rCorp",
        }
    )

    assert not form.is_valid()
    assert form.errors["workspace_name"] == [text.NAME_MESSAGE]
    assert form.errors["full_name"] == [text.NAME_MESSAGE]


def test_workspace_form_refuses_a_line_separator():
    form = WorkspaceForm({"name": "Acme\u2028Corp"})
    assert not form.is_valid()
    assert form.errors["name"] == [text.NAME_MESSAGE]


@pytest.mark.django_db
def test_the_workspace_page_shows_the_error_next_to_the_name(admin_user):
    response = signed_in(admin_user).post(
        reverse("accounts:workspace_create"), {"name": "Acme\rCorp"}
    )

    assert response.status_code == 200
    assert text.NAME_MESSAGE in response.content.decode()
    assert not Workspace.objects.filter(name__contains="\r").exists()


@pytest.mark.django_db
def test_services_refuse_names_that_are_not_one_line(admin_user):
    with pytest.raises(ValidationError) as caught:
        services.workspace_create(name="Acme\rCorp", creator=admin_user)
    assert caught.value.message_dict == {"name": [text.NAME_MESSAGE]}
    with pytest.raises(ValidationError) as caught:
        services.user_signup(email="ann@example.com", password=PASSWORD, full_name="Ann\nBob")
    assert caught.value.message_dict == {"full_name": [text.NAME_MESSAGE]}
    assert not User.objects.filter(email="ann@example.com").exists()


@pytest.mark.django_db
def test_the_admin_refuses_a_workspace_name_with_a_carriage_return(workspace):
    operator = User.objects.create_superuser("operator@example.com", PASSWORD)
    change = reverse("admin:accounts_workspace_change", args=[workspace.pk])
    data = {
        "name": "Acme\rCorp",
        "slug": workspace.slug,
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }

    response = signed_in(operator).post(change, data)

    assert response.status_code == 200
    assert text.NAME_MESSAGE in response.content.decode()
    workspace.refresh_from_db()
    assert workspace.name == "Acme"


# Email addresses: no invisible characters -------------------------------------------------

INVISIBLE_IN_EMAILS = {
    "zero-width space (Cf)": "admin@example.com\u200b",
    "zero-width joiner (Cf)": "ad\u200dmin@example.com",
    "byte order mark (Cf)": "admin@exa\ufeffmple.com",
    "right-to-left override (Cf)": "admin\u202e@example.com",
    "soft hyphen (Cf)": "ad\u00admin@example.com",
    "NUL (Cc)": "admin\x00@example.com",
    "next line (Cc)": "admin@example.com\x85",
    "line separator (Zl)": "admin@example.com\u2028",
    "paragraph separator (Zp)": "admin@example.com\u2029",
    "no-break space inside (Zs)": "admin\u00a0@example.com",
    "tab inside": "admin@exam\tple.com",
}


@pytest.mark.parametrize("email", INVISIBLE_IN_EMAILS.values(), ids=INVISIBLE_IN_EMAILS.keys())
def test_an_email_refuses_each_invisible_or_control_character(email):
    with pytest.raises(ValidationError) as caught:
        text.validate_email_text(email)
    assert caught.value.messages == [text.EMAIL_MESSAGE]


def test_an_email_domain_is_folded_to_its_compatibility_form():
    assert normalize_email(" Ann@\uff45xample.COM ") == "ann@example.com"
    assert normalize_email("\uff41nn@example.com") == "\uff41nn@example.com"  # local part kept


@pytest.mark.parametrize("form_class", [SignupForm, InvitationForm])
def test_the_signup_and_invitation_forms_refuse_an_invisible_character(form_class):
    form = form_class({"email": "admin@example.com\u200b"})
    assert not form.is_valid()
    assert text.EMAIL_MESSAGE in form.errors["email"]


@pytest.mark.django_db
def test_services_refuse_an_email_with_an_invisible_character(workspace, admin_user):
    lookalike = "admin@example.com\u200b"
    with pytest.raises(ValidationError) as caught:
        services.user_signup(email=lookalike, password=PASSWORD, workspace_name="Lookalike")
    assert caught.value.message_dict == {"email": [text.EMAIL_MESSAGE]}
    with pytest.raises(ValidationError) as caught:
        services.invitation_create(
            workspace=workspace, actor=admin_user, email=lookalike, role="member"
        )
    assert caught.value.message_dict == {"email": [text.EMAIL_MESSAGE]}
    with pytest.raises(ValidationError):
        User.objects.create_user("ann\u200b@example.com", PASSWORD)
    assert User.objects.count() == 1
    assert not Invitation.objects.exists()


@pytest.mark.django_db
def test_the_admin_refuses_a_user_whose_email_holds_an_invisible_character(admin_user):
    operator = User.objects.create_superuser("operator@example.com", PASSWORD)
    response = signed_in(operator).post(
        reverse("admin:accounts_user_add"),
        {
            "email": "admin@example.com\u200b",
            "usable_password": "true",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )

    assert response.status_code == 200
    assert text.EMAIL_MESSAGE in response.content.decode()
    assert User.objects.count() == 2


# The migration that repairs stored names -----------------------------------------------


@pytest.mark.django_db
def test_the_migration_repairs_stored_workspace_and_display_names(workspace, admin_user):
    Workspace.objects.filter(pk=workspace.pk).update(name="Acme\r\nCorp\u202e")
    User.objects.filter(pk=admin_user.pk).update(full_name="Ann\x1b \tAdmin")
    migration = importlib.import_module("accounts.migrations.0002_names_single_line_text")

    migration.repair_names(apps, None)

    workspace.refresh_from_db()
    admin_user.refresh_from_db()
    assert workspace.name == "Acme Corp"
    assert admin_user.full_name == "Ann Admin"


def test_every_text_form_field_takes_its_limits_from_its_model():
    from tokens.forms import TokenCreateForm, TokenRenameForm
    from tokens.models import Resource, Token
    from tokens.views.resources import ResourceForm

    fields = [
        (SignupForm, "full_name", User, "full_name"),
        (SignupForm, "workspace_name", Workspace, "name"),
        (WorkspaceForm, "name", Workspace, "name"),
        (TokenCreateForm, "name", Token, "name"),
        (TokenCreateForm, "description", Token, "description"),
        (TokenRenameForm, "description", Token, "description"),
        (ResourceForm, "kind", Resource, "kind"),
        (ResourceForm, "description", Resource, "description"),
    ]
    for form, name, model, model_name in fields:
        field, model_field = form.base_fields[name], model._meta.get_field(model_name)
        assert field.max_length == model_field.max_length, (form, name)
        assert field.required is not model_field.blank, (form, name)
        kinds = [v for v in model_field.validators if isinstance(v, text.TextValidator)]
        assert [v for v in field.validators if isinstance(v, text.TextValidator)] == kinds


def test_a_model_field_says_how_long_and_what_text_a_service_accepts():
    from tokens.models import Resource

    assert text.clean_text(Resource, "kind", "  database ") == "database"
    with pytest.raises(ValidationError) as too_long:
        text.clean_text(Resource, "kind", "x" * 51)
    assert too_long.value.message_dict == {"kind": ["Keep the kind under 50 characters."]}
    with pytest.raises(ValidationError) as two_lines:
        text.clean_text(Resource, "kind", "data\nbase")
    assert list(two_lines.value.message_dict) == ["kind"]
    assert text.clean_text(Resource, "description", "two\r\nlines") == "two\nlines"
