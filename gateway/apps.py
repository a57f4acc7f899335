from django.apps import AppConfig


class GatewayConfig(AppConfig):
    name = "gateway"
    verbose_name = "Gateway"

    def ready(self) -> None:
        # Connect the receivers that version the rules, and add the version to the token lookup.
        from gateway import receivers  # noqa: F401
        from gateway.panels import SERVICE_PANEL
        from gateway.scopes import service_scopes
        from tokens import resource_panels, scopes

        # Settings → Resources shows each resource's service; tokens may hold its scopes.
        resource_panels.register(SERVICE_PANEL)
        scopes.register_workspace_scopes(service_scopes)
