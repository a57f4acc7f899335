"""System checks of the tokens app's settings, run by manage.py before it serves."""

from __future__ import annotations

from django.core.checks import Error, register

from tokens import vault


@register()
def check_encryption_keys(app_configs, **kwargs) -> list[Error]:
    """Refuse to start with encryption keys that cannot encrypt or decrypt anything."""
    problem = vault.key_problem()
    if problem is None:
        return []
    return [
        Error(
            problem,
            hint="Generate one with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'",
            id="tokens.E001",
        )
    ]
