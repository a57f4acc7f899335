from django.apps import AppConfig


class TokensConfig(AppConfig):
    name = "tokens"
    verbose_name = "API tokens"

    def ready(self) -> None:
        # Connect the signal receivers and register the overview panel.
        from tokens import demo, receivers  # noqa: F401
        from tokens.views import overview  # noqa: F401
