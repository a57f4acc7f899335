"""Announce membership changes so that other apps (tokens) can react.

accounts never imports tokens; tokens connects to these signals.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.dispatch import Signal

# Who is changing accounts in this context (an operator in Django admin), and the request.
_acting: ContextVar[tuple] = ContextVar("accounts_acting", default=(None, None))

# Sent after a membership is deleted: membership (unsaved copy), actor, request.
membership_removed = Signal()

# Sent after a role changes: membership, old_role, actor, request.
membership_role_changed = Signal()

# Sent after a user's account is deactivated (is_active turned False) through User.save()
# or a User queryset's update(): user, actor (the user named by `acting_as`, or None),
# request. The admin, a shell, a command, a future console page all go through one of
# these; a bulk_update() or raw SQL does not (tokens/auth.py still refuses the tokens).
user_deactivated = Signal()


@contextmanager
def acting_as(actor, request=None) -> Iterator[None]:
    """Name who changes accounts inside this block, for the signals sent from models."""
    token = _acting.set((actor, request))
    try:
        yield
    finally:
        _acting.reset(token)


def send_user_deactivated(user) -> None:
    """Announce that `user` was deactivated, naming whoever acting_as says acts."""
    actor, request = _acting.get()
    user_deactivated.send(sender=type(user), user=user, actor=actor, request=request)


# Sent by `manage.py seed_demo` after the demo workspace is ready:
# workspace, users (a dict from Role to User). Other apps add their demo data.
demo_seeded = Signal()
