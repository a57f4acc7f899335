"""Fixtures for the tokens tests: actors, a token factory and a movable clock."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from tests.factories import (
    issue,  # noqa: F401 shared with these tests
)


class Clock:
    """A settable `timezone.now`."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """Freeze django.utils.timezone.now at the real now; tests move it forward."""
    fixed = Clock(timezone.now())
    monkeypatch.setattr(timezone, "now", fixed)
    return fixed
