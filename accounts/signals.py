"""Announce membership changes so that other apps (tokens) can react.

accounts never imports tokens; tokens connects to these signals.
"""

from django.dispatch import Signal

# Sent after a membership is deleted: membership (unsaved copy), actor, request.
membership_removed = Signal()

# Sent after a role changes: membership, old_role, actor, request.
membership_role_changed = Signal()

# Sent after a user's account is deactivated (is_active turned False) through User.save()
# or a User queryset's update(): user, actor (None: whoever changed the row is not known
# here), request. The admin, a shell, a command, a future console page all go through one
# of these; a bulk_update() or raw SQL does not (tokens/auth.py still refuses the tokens).
user_deactivated = Signal()

# Sent by `manage.py seed_demo` after the demo workspace is ready:
# workspace, users (a dict from Role to User). Other apps add their demo data.
demo_seeded = Signal()
