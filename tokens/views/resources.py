"""Settings → Resources: placeholder views, replaced by the Resources tab."""

from django.http import Http404


def resource_list(request, slug):
    raise Http404


resource_create = resource_rename = resource_delete = resource_list
