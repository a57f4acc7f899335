from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and workspaces"

    def ready(self) -> None:
        from accounts import signin_limit  # noqa: F401 connects the sign-in limit's receivers
        from accounts.cache_table import create_cache_table
        from accounts.signin import sso_enforcement  # noqa: F401 audits break-glass sign-ins

        post_migrate.connect(create_cache_table, sender=self)
