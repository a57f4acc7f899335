"""Django admin for operators: HTTP services and their rules, changed through the services."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from accounts.form_errors import ServiceCheckedForm
from gateway import services
from gateway.limit_policy_services import set_usage_settings
from gateway.models import Service, UsageSettings
from tokens.actors import Actor


class ServiceForm(ServiceCheckedForm):
    # ModelAdmin builds this form class; the fields above the model's are declared here.
    rules_text = forms.CharField(
        label="Rules",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One rule a line: a host, a space, a path prefix (api.example.com /v1).",
    )

    class Meta:
        model = Service
        fields = ["resource", "slug", "method_scopes"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slug"].required = False
        if self.instance.pk:
            self.fields["resource"].disabled = True
            self.initial["rules_text"] = "\n".join(
                f"{rule.host} {rule.path_prefix}" for rule in self.instance.rules.all()
            )

    def clean_rules_text(self) -> list[tuple[str, str]]:
        """Return the rules typed, one (host, prefix) a line."""
        rules = []
        for line in self.cleaned_data["rules_text"].splitlines():
            parts = line.split()
            if not parts:
                continue
            if len(parts) > 2:
                raise ValidationError(
                    f"“{line}”: write a host and one path prefix.", code="invalid_rule"
                )
            rules.append((parts[0], parts[1] if len(parts) == 2 else "/"))
        return rules

    def service_check(self, data: dict) -> None:
        resource = data.get("resource") or getattr(self.instance, "resource", None)
        if resource is None or "rules_text" not in data:
            return
        slug = services.clean_slug(data.get("slug") or "", resource)
        rules = services.clean_rules(data["rules_text"])
        services.clean_method_scopes(data.get("method_scopes"))
        services.check_free(resource.workspace_id, slug, rules, self.instance)


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    form = ServiceForm
    list_display = ["slug", "resource", "workspace", "rules_display", "updated_at"]
    list_filter = ["workspace"]
    search_fields = ["slug", "resource__name", "rules__host"]
    list_select_related = ["resource", "workspace"]

    @admin.display(description="rules")
    def rules_display(self, service: Service) -> str:
        return ", ".join(str(rule) for rule in service.rules.all())

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("rules")

    def save_model(self, request, obj, form, change) -> None:
        arguments = {
            "actor": Actor.operator(request.user),
            "rules": form.cleaned_data["rules_text"],
            "slug": form.cleaned_data.get("slug") or "",
            "method_scopes": form.cleaned_data.get("method_scopes"),
            "request": request,
        }
        if change:
            services.service_update(service=obj, **arguments)
        else:
            form.instance = services.service_create(
                resource=form.cleaned_data["resource"], **arguments
            )

    def delete_model(self, request, obj) -> None:
        services.service_delete(actor=Actor.operator(request.user), service=obj, request=request)

    def delete_queryset(self, request, queryset) -> None:
        # "Delete selected": one service call each, so each writes its audit event.
        for service in queryset.select_related("resource"):
            self.delete_model(request, service)


@admin.register(UsageSettings)
class UsageSettingsAdmin(admin.ModelAdmin):
    """Let operators opt a workspace in to emails about tokens used from new IPs."""

    list_display = ("workspace", "email_on_new_ip")
    list_select_related = ("workspace",)
    raw_id_fields = ("workspace",)

    def get_readonly_fields(self, request, obj=None):
        return ["workspace"] if obj is not None else []

    def save_model(self, request, obj, form, change) -> None:
        # Through the service the console uses: the same check, the same audit event.
        workspace = form.cleaned_data.get("workspace") or obj.workspace
        set_usage_settings(
            actor=Actor.operator(request.user),
            workspace=workspace,
            email_on_new_ip=form.cleaned_data["email_on_new_ip"],
            request=request,
        )
        # The row the service saved, for the admin's log and redirect.
        obj.pk = UsageSettings.objects.values_list("pk", flat=True).get(workspace=workspace)

    def has_delete_permission(self, request, obj=None) -> bool:
        # Turning the email off is the change to make, audited by the service.
        return False
