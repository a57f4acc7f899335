from django.apps import AppConfig


class TokensConfig(AppConfig):
    name = "tokens"
    verbose_name = "API tokens"

    def ready(self) -> None:
        # Connect the signal receivers, register the overview panel and the system checks.
        from tokens import checks, demo, receivers  # noqa: F401
        from tokens.views import overview  # noqa: F401
