"""Change accounts, workspaces, memberships and invitations: one function per action.

Views, admin and commands call these. Each raises ValidationError (keyed by
form field where one applies) for bad input and changes nothing then; each
state change writes an audit event.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.text import slugify

from accounts import signals, tasks
from accounts.audit import audit_record
from accounts.emails import site_url
from accounts.flood_limit import refuse_email_flood, refuse_signup_flood
from accounts.locks import lock_workspace
from accounts.models import Invitation, Membership, TwoFactorPolicy, User, Workspace
from accounts.models.invitations import new_invitation_key
from accounts.models.users import clean_email, normalize_email
from accounts.permissions import Perm, has_perm
from accounts.roles import Role
from accounts.side_effects import enqueue_after_commit
from accounts.signin import factors
from accounts.text import clean_text


def _valid_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise ValidationError({"role": f"“{role}” is not a role."}, code="invalid_role") from None


def _unique_slug(name: str) -> str:
    base = slugify(name)[:40] or "workspace"
    slug, n = base, 1
    while Workspace.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def workspace_create(*, name: str, creator: User, request: HttpRequest | None = None) -> Workspace:
    """Create a workspace with `creator` as its first Admin."""
    name = clean_text(Workspace, "name", name, required="Give the workspace a name.")
    workspace = Workspace.objects.create(name=name, slug=_unique_slug(name))
    membership = Membership.objects.create(user=creator, workspace=workspace, role=Role.ADMIN)
    audit_record(
        action="workspace.created",
        actor=creator,
        target=workspace,
        request=request,
    )
    _audit_member("member.added", membership, creator, request)
    return workspace


def _audit_member(
    action: str, membership: Membership, actor: User, request: HttpRequest | None
) -> None:
    audit_record(
        action=action,
        actor=actor,
        target=membership,
        request=request,
        details={"email": membership.user.email, "role": membership.role},
    )


@transaction.atomic
def user_signup(
    *,
    email: str,
    password: str,
    full_name: str = "",
    workspace_name: str = "",
    request: HttpRequest | None = None,
) -> tuple[User, Workspace | None]:
    """Create a user, and a first workspace where they are Admin when it is named."""
    refuse_signup_flood(request)
    email = clean_email(email)
    if User.objects.filter(email=email).exists():
        raise ValidationError(
            {"email": "An account with this email already exists. Sign in instead."},
            code="duplicate",
        )
    full_name = clean_text(User, "full_name", full_name, label="name")
    user = User.objects.create_user(email, password, full_name=full_name)
    workspace = None
    if workspace_name:
        workspace = workspace_create(name=workspace_name, creator=user, request=request)
    return user, workspace


def invitation_create(
    *,
    workspace: Workspace,
    actor: User,
    email: str,
    role: str,
    request: HttpRequest | None = None,
) -> Invitation:
    """Invite `email` to `workspace` with `role` and email them a signed link."""
    email = clean_email(email)
    role = _valid_role(role)
    if Membership.objects.filter(workspace=workspace, user__email=email).exists():
        raise ValidationError(
            {"email": f"{email} is already a member of {workspace.name}."}, code="duplicate"
        )
    if Invitation.objects.pending().filter(workspace=workspace, email=email).exists():
        raise ValidationError(
            {"email": f"{email} has a pending invitation already. Resend it from the list."},
            code="duplicate",
        )
    refuse_email_flood(request, email, field="email")
    try:
        with transaction.atomic():
            invitation = Invitation.objects.create(
                workspace=workspace, email=email, role=role, invited_by=actor
            )
            _audit_invitation("invitation.created", invitation, actor, request, role=role)
    except IntegrityError:  # a concurrent invitation for the same email won the race
        raise ValidationError(
            {"email": f"{email} has a pending invitation already."}, code="duplicate"
        ) from None
    _email_after_commit(invitation, request)
    return invitation


def _audit_invitation(
    action: str, invitation: Invitation, actor: User, request: HttpRequest | None, **details
) -> None:
    audit_record(
        action=action,
        actor=actor,
        target=invitation,
        request=request,
        details={"email": invitation.email, **details},
    )


def _email_after_commit(invitation: Invitation, request: HttpRequest | None) -> None:
    enqueue_after_commit(tasks.email_invitation, invitation.pk, site_url(request))


def _require_pending(invitation: Invitation) -> None:
    if not invitation.is_pending:
        raise ValidationError("This invitation is no longer pending.", code="not_pending")


def invitation_resend(
    *, invitation: Invitation, actor: User, request: HttpRequest | None = None
) -> Invitation:
    """Send a fresh link for `invitation`; earlier links stop working."""
    _require_pending(invitation)
    refuse_email_flood(request, invitation.email)
    with transaction.atomic():
        invitation.key = new_invitation_key()
        invitation.sent_at = timezone.now()
        invitation.save(update_fields=["key", "sent_at"])
        _audit_invitation("invitation.resent", invitation, actor, request)
    _email_after_commit(invitation, request)
    return invitation


@transaction.atomic
def invitation_cancel(
    *, invitation: Invitation, actor: User, request: HttpRequest | None = None
) -> None:
    """Cancel a pending invitation so that its link no longer works."""
    _require_pending(invitation)
    invitation.cancelled_at = timezone.now()
    invitation.save(update_fields=["cancelled_at"])
    _audit_invitation("invitation.cancelled", invitation, actor, request)


@transaction.atomic
def invitation_accept(
    *, invitation: Invitation, user: User, request: HttpRequest | None = None
) -> Membership:
    """Make `user` a member through `invitation`, which must be theirs and pending."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    _require_pending(invitation)
    if invitation.is_expired:
        raise ValidationError("This invitation has expired.", code="expired")
    if normalize_email(user.email) != invitation.email:
        raise ValidationError(
            f"This invitation is for {invitation.email}, but you are signed in as "
            f"{user.email}. Sign out and open the link again.",
            code="wrong_email",
        )
    if Membership.objects.filter(workspace=invitation.workspace, user=user).exists():
        raise ValidationError(
            f"You are already a member of {invitation.workspace.name}.", code="duplicate"
        )
    membership = Membership.objects.create(
        user=user, workspace=invitation.workspace, role=invitation.role
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    _audit_member("invitation.accepted", membership, user, request)
    return membership


def membership_add(
    *,
    workspace: Workspace,
    user: User,
    role: str,
    actor: User,
    request: HttpRequest | None = None,
) -> Membership:
    """Add an existing user to a workspace with `role` (operators, from Django admin)."""
    role = _valid_role(role)
    if Membership.objects.filter(workspace=workspace, user=user).exists():
        raise ValidationError(
            f"{user.email} is already a member of {workspace.name}.", code="duplicate"
        )
    with transaction.atomic():
        membership = Membership.objects.create(workspace=workspace, user=user, role=role)
        _audit_member("member.added", membership, actor, request)
    return membership


def _lock_admins(workspace: Workspace) -> list[int]:
    """Lock the workspace, then its Admin memberships; return their ids.

    The workspace first, as every writer (accounts.locks): a removal or a demotion goes on
    to revoke the member's tokens.
    """
    lock_workspace(workspace.pk)
    return list(
        # Only these rows, in one order: Membership's default ordering joins the workspace
        # and the users, whose rows FOR UPDATE would lock too (see accounts.locks).
        Membership.objects.select_for_update(of=("self",))
        .filter(workspace=workspace, role=Role.ADMIN)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _refuse_last_admin(membership: Membership, admin_ids: list[int], doing: str) -> None:
    if membership.pk in admin_ids and len(admin_ids) == 1:
        raise ValidationError(
            f"You cannot {doing} the last Admin. Make someone else Admin first.",
            code="last_admin",
        )


def membership_change_role(
    *, membership: Membership, role: str, actor: User, request: HttpRequest | None = None
) -> Membership:
    """Give `membership` a new role; a workspace always keeps one Admin."""
    new_role = _valid_role(role)
    with transaction.atomic():
        admin_ids = _lock_admins(membership.workspace)
        membership = (
            Membership.objects.select_for_update(of=("self",))
            .select_related("user")
            .get(pk=membership.pk)
        )
        old_role = membership.role
        if old_role == new_role:
            return membership
        if new_role != Role.ADMIN:
            _refuse_last_admin(membership, admin_ids, "demote")
        membership.role = new_role
        membership.save(update_fields=["role"])
        audit_record(
            action="member.role_changed",
            actor=actor,
            target=membership,
            request=request,
            details={"email": membership.user.email, "from": old_role, "to": new_role},
        )
        signals.membership_role_changed.send(
            sender=Membership,
            membership=membership,
            old_role=old_role,
            actor=actor,
            request=request,
        )
    return membership


def membership_remove(
    *, membership: Membership, actor: User, request: HttpRequest | None = None
) -> None:
    """Remove `membership` from its workspace; a workspace always keeps one Admin."""
    with transaction.atomic():
        admin_ids = _lock_admins(membership.workspace)
        membership = (
            Membership.objects.select_for_update(of=("self",))
            .select_related("user")
            .get(pk=membership.pk)
        )
        _refuse_last_admin(membership, admin_ids, "remove")
        _audit_member("member.removed", membership, actor, request)
        membership.delete()
        signals.membership_removed.send(
            sender=Membership, membership=membership, actor=actor, request=request
        )


def workspace_two_factor_policy_update(
    *,
    workspace: Workspace,
    policy: str,
    actor: User,
    request: HttpRequest | None = None,
    by_operator: bool = False,
) -> bool:
    """Set whose membership of `workspace` needs two-factor; return whether it changed.

    Only an Admin may, and not to a policy that would lock them out of the
    workspace: they set up two-factor first. An operator may from Django admin
    (`by_operator`): they are not kept out of the workspace by it.
    """
    try:
        chosen = TwoFactorPolicy(policy)
    except ValueError:
        raise ValidationError(
            {
                "two_factor_policy": ValidationError(
                    "Choose who must use two-factor authentication.",
                    code="invalid_two_factor_policy",
                )
            }
        ) from None
    with transaction.atomic():
        # The lock of accounts.locks.lock_workspace, keeping the row it returns.
        workspace = Workspace.objects.select_for_update(no_key=True).get(pk=workspace.pk)
        if by_operator:
            if not (actor.is_active and actor.is_staff):
                raise PermissionDenied("Only operators may change policies from the admin.")
        else:
            membership = Membership.objects.filter(workspace=workspace, user=actor).first()
            if not has_perm(membership, Perm.POLICIES_MANAGE):
                raise PermissionDenied("Your role may not change the workspace's policies.")
        if not by_operator and chosen.covers(membership.role) and not factors.has_two_factor(actor):
            raise ValidationError(
                {
                    "two_factor_policy": ValidationError(
                        "Set up two-factor authentication for yourself first (Account → "
                        "Security): this policy would lock you out of the workspace.",
                        code="two_factor_missing",
                    )
                }
            )
        old = workspace.two_factor_policy
        if old == chosen:
            return False
        workspace.two_factor_policy = chosen
        workspace.save(update_fields=["two_factor_policy"])
        audit_record(
            action="policy.two_factor_updated",
            actor=actor,
            target=workspace,
            request=request,
            details={
                "from": old,
                "to": chosen.value,
                **({"by_operator": True} if by_operator else {}),
            },
        )
    return True
