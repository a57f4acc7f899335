"""Fixtures for the accounts tests: invitations, signal recorders and HTMX helpers."""

from __future__ import annotations

import pytest

from accounts import services, signals
from accounts.models import Invitation
from accounts.roles import Role


@pytest.fixture
def webauthn_testserver(settings):
    """Make the test client's host the relying party of passkeys (http://testserver)."""
    settings.KEYWARD_WEBAUTHN_ORIGIN = "http://testserver"
    settings.KEYWARD_WEBAUTHN_RP_ID = ""


@pytest.fixture
def invitation(workspace, admin_user, django_capture_on_commit_callbacks) -> Invitation:
    """Return a pending invitation of new@example.com as Member, sent by the Admin."""
    with django_capture_on_commit_callbacks(execute=True):  # the email goes after commit
        return services.invitation_create(
            workspace=workspace, actor=admin_user, email="new@example.com", role=Role.MEMBER
        )


class SignalRecorder:
    """Collect the keyword arguments of every send of one signal."""

    def __init__(self, signal) -> None:
        self.signal = signal
        self.calls: list[dict] = []

    def __call__(self, sender, **kwargs) -> None:
        self.calls.append({"sender": sender, **kwargs})


def _recorder(signal):
    recorder = SignalRecorder(signal)
    signal.connect(recorder, weak=False)
    yield recorder
    signal.disconnect(recorder)


@pytest.fixture
def removed_signal():
    """Record sends of accounts.signals.membership_removed."""
    yield from _recorder(signals.membership_removed)


@pytest.fixture
def role_changed_signal():
    """Record sends of accounts.signals.membership_role_changed."""
    yield from _recorder(signals.membership_role_changed)
