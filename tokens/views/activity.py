"""Placeholder, being written."""

from django.http import Http404


def token_activity(request, **kwargs):
    raise Http404
