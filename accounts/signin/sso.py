"""Apply the workspaces' single sign-on settings: who must use SSO, who joins just in time.

One home for the rules the password form, the workspace pages and the SSO
sign-in all ask: `password_refused_by` (a password sign-in refused, before
any password is checked), `needs_sso_session` (a session signed in another way
must go through SSO for this workspace), `jit_workspaces` / `jit_join` (JIT
membership). Nothing is enforced while SSO is off (no issuer configured): the
operator's break-glass.
"""

from __future__ import annotations

import re

from django.contrib.auth import BACKEND_SESSION_KEY
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest

from accounts.audit import audit_record
from accounts.models import Membership, User, Workspace, WorkspaceSingleSignOn
from accounts.models.sso import JIT_ROLES
from accounts.models.users import normalize_email
from accounts.roles import Role
from accounts.signin import oidc_config

# The backend a session records when it was signed in through SSO.
SSO_BACKEND = "accounts.signin.oidc.SingleSignOnBackend"
DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def sso_settings(workspace: Workspace) -> WorkspaceSingleSignOn:
    """Return the workspace's SSO settings (unsaved defaults when it has none)."""
    try:
        return workspace.single_sign_on
    except WorkspaceSingleSignOn.DoesNotExist:
        return WorkspaceSingleSignOn(workspace=workspace)


def break_glass_candidates(workspace: Workspace):
    """Return the users who may be the workspace's break-glass account: its Admins, by email."""
    return User.objects.filter(
        memberships__workspace=workspace, memberships__role=Role.ADMIN
    ).order_by("email")


def _is_break_glass(config: WorkspaceSingleSignOn, membership: Membership) -> bool:
    return config.break_glass_admin_id == membership.user_id and membership.role == Role.ADMIN


def _requiring(user: User):
    """Return the user's memberships in workspaces that require SSO (none while SSO is off)."""
    if not oidc_config.is_enabled():
        return Membership.objects.none()
    return Membership.objects.filter(user=user, workspace__single_sign_on__required=True)


def password_refused_by(user: User) -> Workspace | None:
    """Return a workspace that requires `user` to sign in with SSO, or None.

    Its break-glass Admin is exempt from that workspace's requirement (not from another's).
    """
    memberships = _requiring(user).select_related("workspace__single_sign_on")
    for membership in memberships.order_by("workspace__name"):
        if not _is_break_glass(membership.workspace.single_sign_on, membership):
            return membership.workspace
    return None


def break_glass_memberships(user: User) -> list[Membership]:
    """Return the memberships where only the break-glass exemption lets `user` use a password."""
    memberships = _requiring(user).select_related("workspace__single_sign_on")
    return [m for m in memberships if _is_break_glass(m.workspace.single_sign_on, m)]


def signed_in_with_sso(request: HttpRequest) -> bool:
    """Return whether this session was signed in through SSO."""
    return request.session.get(BACKEND_SESSION_KEY) == SSO_BACKEND


def needs_sso_session(request: HttpRequest, membership: Membership) -> bool:
    """Return whether this session must sign in again with SSO before it uses the workspace."""
    if not oidc_config.is_enabled() or signed_in_with_sso(request):
        return False
    try:  # accounts.permissions.membership_for joins it in
        config = membership.workspace.single_sign_on
    except WorkspaceSingleSignOn.DoesNotExist:
        return False
    return config.required and not _is_break_glass(config, membership)


def jit_workspaces(email: str) -> list[WorkspaceSingleSignOn]:
    """Return the SSO settings of the workspaces whose JIT membership takes `email`."""
    configs = WorkspaceSingleSignOn.objects.filter(jit_enabled=True).select_related("workspace")
    return [config for config in configs if config.admits_domain(email)]


def jit_join(
    user: User, configs: list[WorkspaceSingleSignOn], request: HttpRequest | None = None
) -> list[Membership]:
    """Make `user` a member of each of these workspaces they are not in, with its JIT role."""
    joined = []
    for config in configs:
        with transaction.atomic():
            membership, created = Membership.objects.get_or_create(
                user=user, workspace=config.workspace, defaults={"role": config.jit_role}
            )
            if created:
                audit_record(
                    action="member.added",
                    actor=user,
                    target=membership,
                    request=request,
                    details={"email": user.email, "role": membership.role, "just_in_time": True},
                )
                joined.append(membership)
    return joined


def clean_domains(text_or_list) -> list[str]:
    """Return the email domains typed (one per line or comma-separated), lower-cased, distinct.

    Raises ValidationError naming what is not a domain.
    """
    items = text_or_list if isinstance(text_or_list, list) else re.split(r"[\n,]", text_or_list)
    domains, wrong = [], []
    for item in items:
        if not item.strip():
            continue
        domain = normalize_email(f"x@{item.strip().lstrip('@')}").partition("@")[2]
        if DOMAIN.match(domain):
            if domain not in domains:
                domains.append(domain)
        else:
            wrong.append(item.strip())
    if wrong:
        raise ValidationError(
            {"jit_domains": f"Not an email domain: {', '.join(wrong[:5])}."}, code="invalid"
        )
    return domains


def _check_may_change(workspace: Workspace, actor: Membership | User, by_operator: bool) -> None:
    if by_operator:
        if not (isinstance(actor, User) and actor.is_active and actor.is_staff):
            raise PermissionDenied("Only operators may change single sign-on from the admin.")
    elif actor.workspace_id != workspace.pk or actor.role != Role.ADMIN:
        raise PermissionDenied("Only Admins may change single sign-on.")


def sso_settings_check(
    *,
    workspace: Workspace,
    actor: Membership | User,
    request: HttpRequest | None = None,
    by_operator: bool = False,
    required: bool,
    jit_enabled: bool,
    jit_domains,
    jit_role: str,
    break_glass_admin: User | None,
) -> dict:
    """Return the SSO settings as they would be saved; raise ValidationError or PermissionDenied.

    `actor` is the workspace Admin's membership (the console), or the operator
    (`by_operator`, Django admin). Refuses to require SSO while it is not
    configured, or when the Admin making the change could not get back in:
    they must be signed in with SSO or be the break-glass Admin. An operator is
    not locked out by it (they reach the workspace from the admin).
    """
    _check_may_change(workspace, actor, by_operator)
    values = {
        "required": bool(required),
        "jit_enabled": bool(jit_enabled),
        "jit_domains": clean_domains(jit_domains or []),
        "jit_role": jit_role,
        "break_glass_admin": break_glass_admin,
    }
    if jit_role not in {value for value, _ in JIT_ROLES}:
        raise ValidationError({"jit_role": "People who join just in time are Members or Managers."})
    if values["jit_enabled"] and not values["jit_domains"]:
        raise ValidationError({"jit_domains": "Name at least one email domain."}, code="required")
    if (
        break_glass_admin is not None
        and not Membership.objects.filter(
            workspace=workspace, user=break_glass_admin, role=Role.ADMIN
        ).exists()
    ):
        raise ValidationError(
            {"break_glass_admin": "The break-glass account must be an Admin of this workspace."}
        )
    if values["required"]:
        if not oidc_config.is_enabled():
            raise ValidationError(
                {
                    "required": "Single sign-on is not configured for this Keyward. An operator "
                    "must set KEYWARD_OIDC_ISSUER first (docs/sso.md)."
                },
                code="sso_off",
            )
        if (
            not by_operator
            and (request is None or not signed_in_with_sso(request))
            and (break_glass_admin is None or break_glass_admin.pk != actor.user_id)
        ):
            raise ValidationError(
                {
                    "required": "Sign in with SSO first, or name yourself the break-glass Admin, "
                    "so that you cannot lock yourself out."
                },
                code="lockout",
            )
    return values


def sso_settings_update(
    *,
    workspace: Workspace,
    actor: Membership | User,
    request: HttpRequest | None = None,
    by_operator: bool = False,
    **settings,
) -> dict[str, dict]:
    """Change the workspace's SSO settings; return what changed, as audited.

    Admins change them from the console, operators (`by_operator`) from Django
    admin; `settings` and the rules are sso_settings_check's.
    """
    values = sso_settings_check(
        workspace=workspace, actor=actor, request=request, by_operator=by_operator, **settings
    )
    with transaction.atomic():
        config, _ = WorkspaceSingleSignOn.objects.select_for_update().get_or_create(
            workspace=workspace
        )
        changed = {}
        for field, value in values.items():
            before = getattr(config, field)
            if before != value:
                changed[field] = {"from": _audited(before), "to": _audited(value)}
                setattr(config, field, value)
        if changed:
            config.save()
            audit_record(
                action="policy.sso_updated",
                actor=actor if by_operator else actor.user,
                workspace=workspace,
                request=request,
                details={"changed": changed, **({"by_operator": True} if by_operator else {})},
            )
    return changed


def _audited(value):
    return value.email if isinstance(value, User) else value
