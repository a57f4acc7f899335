from django.apps import AppConfig


class GatewayConfig(AppConfig):
    name = "gateway"
    verbose_name = "Gateway"

    def ready(self) -> None:
        # Connect the receivers (rules' versions, the lookup, introspect, scopes); the checks.
        from gateway import checks, receivers  # noqa: F401
