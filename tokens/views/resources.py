"""Settings → Resources: every member sees them; Admins add, rename and delete them."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.functional import SimpleLazyObject

from accounts.htmx import attempt, finish_action, finish_with_partial, render_page
from accounts.permissions import Perm, workspace_view
from accounts.text import text_form_field
from tokens import resource_panels, rules
from tokens.actors import Actor
from tokens.models import Resource
from tokens.services import resources

TEMPLATE = "tokens/resources.html"
# The delete dialog names this many tokens using the resource, then says how many more.
TOKENS_SHOWN = 20


class ResourceForm(forms.Form):
    """A resource's name, kind and description; the service checks them again."""

    name = text_form_field(
        Resource,
        "name",
        error_messages={"required": resources.NAME_REQUIRED},
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "e.g. orders-db"}),
        help_text="Unique in this workspace. Renaming keeps the tokens limited to it.",
    )
    kind = text_form_field(
        Resource,
        "kind",
        widget=forms.TextInput(attrs={"placeholder": "e.g. database, application"}),
    )
    description = text_form_field(Resource, "description")


def _list_url(request: HttpRequest) -> str:
    return reverse("tokens:resources", kwargs={"slug": request.workspace.slug})


def _context(request: HttpRequest, **extra) -> dict:
    """Return what the Resources tab shows; the list is read only if the template asks."""
    actor = Actor.member(request.membership)
    rows = resources.resources_with_usage(actor, request.workspace)
    return {
        "nav": "settings",
        "tab": "resources",
        "list_url": _list_url(request),
        "resources": SimpleLazyObject(lambda: resource_panels.attach(rows)),
        "resource_panels": resource_panels.panels(),
        "may_manage": rules.may_manage_resources(actor),
        **extra,
    }


def _resource(request: HttpRequest, pk: int) -> Resource:
    return get_object_or_404(
        Resource.objects.select_related("workspace"), pk=pk, workspace=request.workspace
    )


def _form(request: HttpRequest, **kwargs) -> ResourceForm:
    return ResourceForm(request.POST if request.method == "POST" else None, **kwargs)


def _resource_list(request: HttpRequest) -> HttpResponse:
    return render_page(request, TEMPLATE, _context(request), partial="resource-list")


def _done(request: HttpRequest, message: str) -> HttpResponse:
    """Answer an action that changed the resource list: the list, refreshed, and `message`."""
    return finish_with_partial(
        request, message, TEMPLATE, _context(request), "resource-list", _list_url(request)
    )


def show_dialog(request: HttpRequest, template: str, context: dict) -> HttpResponse:
    """Answer with another app's dialog over the Resources tab (a resource panel's action).

    With HTMX the dialog alone goes into the modal; without, the tab is drawn with it.
    """
    dialog = render_to_string(template, {"list_url": _list_url(request), **context}, request)
    if request.htmx:
        response = HttpResponse(dialog)
    else:
        response = render(request, TEMPLATE, _context(request, dialog=dialog))
    patch_vary_headers(response, ["HX-Request"])
    return response


def finish_change(request: HttpRequest, message: str) -> HttpResponse:
    """Answer another app's change to resources: the list refreshed, the modal closed."""
    return _done(request, message)


@workspace_view()
def resource_list(request: HttpRequest) -> HttpResponse:
    """List the workspace's resources with how many active tokens are limited to each."""
    return _resource_list(request)


@workspace_view(Perm.RESOURCES_MANAGE)
def resource_create(request: HttpRequest) -> HttpResponse:
    """Show the Add resource form; create the resource and refresh the list."""
    form = _form(request)
    actor = Actor.member(request.membership)
    created = attempt(
        request, resources.resource_create, form, actor=actor, workspace=request.workspace
    )
    if created.done:
        return _done(request, f"Resource {created.result.name} added.")
    return render_page(
        request, TEMPLATE, _context(request, create_form=form), dialog="create-dialog"
    )


@workspace_view(Perm.RESOURCES_MANAGE)
def resource_rename(request: HttpRequest, pk: int) -> HttpResponse:
    """Rename a resource (and its kind and description); the row updates in place."""
    resource = _resource(request, pk)
    form = _form(
        request,
        initial={"name": resource.name, "kind": resource.kind, "description": resource.description},
    )
    old_name = resource.name
    actor = Actor.member(request.membership)
    renamed = attempt(request, resources.resource_rename, form, actor=actor, resource=resource)
    if renamed.done:
        [row] = resource_panels.attach(
            resources.resources_with_usage(actor, request.workspace).filter(pk=resource.pk)
        )
        message = (
            f"Resource {old_name} renamed to {row.name}."
            if row.name != old_name
            else f"Resource {row.name} saved."
        )
        return finish_action(
            request,
            message=message,
            redirect_url=_list_url(request),
            update=render_page(
                request, TEMPLATE, _context(request, row=row), partial="resource-row"
            ),
            target=f"#resource-{row.pk}",
        )
    context = _context(request, renaming=resource, rename_form=form)
    return render_page(request, TEMPLATE, context, dialog="rename-dialog")


@workspace_view(Perm.RESOURCES_MANAGE)
def resource_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Show which tokens use a resource and delete it, unless a token would widen."""
    resource = _resource(request, pk)
    deleted = attempt(
        request,
        resources.resource_delete,
        actor=Actor.member(request.membership),
        resource=resource,
    )
    if deleted.done:
        return _done(request, f"Resource {resource.name} deleted.")
    using = resources.tokens_using(resource)
    shown = list(using[:TOKENS_SHOWN])
    total = len(shown) if len(shown) < TOKENS_SHOWN else using.count()
    context = _context(
        request,
        deleting=resource,
        using=shown,
        using_more=total - len(shown),
        blocking_count=resources.tokens_limited_only_to(resource).count(),
        delete_error=deleted.error,
        delete_warnings=resource_panels.delete_warnings(resource),
    )
    return render_page(request, TEMPLATE, context, dialog="delete-dialog")
