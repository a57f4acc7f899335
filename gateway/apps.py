from django.apps import AppConfig


class GatewayConfig(AppConfig):
    name = "gateway"
    verbose_name = "Gateway"

    def ready(self) -> None:
        # Connect the receivers (rules' versions, the lookup, introspect, scopes); the checks;
        # per-token limits (lookup column, API admission, rows, Add token section, admin).
        from accounts import settings_tabs
        from accounts.permissions import Perm
        from gateway import checks, limit_admin, limit_receivers, receivers  # noqa: F401
        from gateway.panels import SCOPES_WARNING, SERVICE_PANEL
        from tokens import resource_panels

        # Settings → Resources shows each resource's service, and its delete dialog the
        # scopes deleting a service withdraws (tokens never imports gateway).
        resource_panels.register(SERVICE_PANEL)
        resource_panels.register_delete_warning(SCOPES_WARNING)
        # Settings → Limits & usage, for the roles that manage policies (Admins).
        settings_tabs.register(
            settings_tabs.SettingsTab(
                key="limits",
                label="Limits & usage",
                url_name="gateway_limits:policy",
                perm=Perm.POLICIES_MANAGE,
            )
        )
