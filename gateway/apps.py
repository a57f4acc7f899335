from django.apps import AppConfig


class GatewayConfig(AppConfig):
    name = "gateway"
    verbose_name = "Gateway"

    def ready(self) -> None:
        # Connect the receivers that version the rules, and add the version to the token lookup.
        from gateway import limit_admin, limit_receivers, receivers  # noqa: F401
