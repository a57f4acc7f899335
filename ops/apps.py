from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        # Count in the metrics what tokens announces.
        from ops import receivers  # noqa: F401
