"""Settings → Resources, HTTP service dialogs: guard a resource, change its rules, or stop.

The dialogs open over the Resources tab (tokens.views.resources shows them and
refreshes the list); every change goes through gateway.services.
"""

from __future__ import annotations

import functools

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import pluralize

from accounts.form_errors import add_service_errors
from accounts.htmx import attempt
from accounts.permissions import Perm, workspace_view
from gateway import services
from gateway.forms import ServiceForm, initial_for
from gateway.models import Service
from tokens.actors import Actor
from tokens.models import Resource
from tokens.views import resources as resource_views

# The service names the mapping's field; the form asks for the methods that only read.
_show_errors = functools.partial(
    add_service_errors, rename={"method_scopes": "read_methods", "resource": "rules"}
)


def _resource(request: HttpRequest, pk: int) -> tuple[Resource, Service | None]:
    resource = get_object_or_404(
        Resource.objects.select_related("workspace"), pk=pk, workspace=request.workspace
    )
    service = Service.objects.filter(resource=resource).prefetch_related("rules").first()
    return resource, service


@workspace_view(Perm.RESOURCES_MANAGE)
def service_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Show a resource's HTTP service form; guard the resource, or save its new rules."""
    resource, service = _resource(request, pk)
    form = ServiceForm(
        request.POST if request.method == "POST" else None, initial=initial_for(service)
    )
    actor = Actor.member(request.membership)
    if service is None:
        saved = attempt(
            request,
            services.service_create,
            form,
            show_errors=_show_errors,
            actor=actor,
            resource=resource,
        )
        message = f"{resource.name} is now guarded as an HTTP service."
    else:
        # attempt() has a parameter named `service` (the function): bind ours first.
        update = functools.partial(services.service_update, service=service)
        saved = attempt(request, update, form, show_errors=_show_errors, actor=actor)
        message = f"HTTP service {resource.name} saved."
    if saved.done:
        return resource_views.finish_change(request, message)
    context = {"resource": resource, "service": service, "form": form}
    return resource_views.show_dialog(request, "gateway/service_dialog.html", context)


@workspace_view(Perm.RESOURCES_MANAGE)
def service_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask, then stop guarding a resource: it stays a label, and its requests are refused."""
    resource, service = _resource(request, pk)
    if service is None:
        return resource_views.finish_change(
            request, f"{resource.name} was not an HTTP service; nothing changed."
        )
    stop = functools.partial(services.service_delete, service=service)
    stopped = attempt(request, stop, actor=Actor.member(request.membership))
    if stopped.done:
        count = len(stopped.result)
        lost = f" Its scopes were removed from {count} token{pluralize(count)}." if count else ""
        return resource_views.finish_change(
            request, f"{resource.name} is a label again: the gateway refuses its requests.{lost}"
        )
    context = {
        "resource": resource,
        "service": service,
        "error": stopped.error,
        "losing_access": services.tokens_losing_access(service),
    }
    return resource_views.show_dialog(request, "gateway/service_delete_dialog.html", context)
