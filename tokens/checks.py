"""System checks of the tokens app's settings, run by manage.py before it serves."""

from __future__ import annotations

from django.core.checks import Warning, register

from tokens import vault


@register()
def check_encryption_keys(app_configs, **kwargs) -> list[Warning]:
    """Warn of encryption keys that cannot be used: retrievable is unavailable until fixed."""
    problem = vault.key_problem()
    if problem is None:
        return []
    return [
        Warning(
            f"{problem} The retrievable reveal policy is unavailable until it is fixed.",
            hint="Generate one with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'",
            id="tokens.W001",
        )
    ]
