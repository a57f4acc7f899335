"""Placeholder, being written."""

from django.http import Http404


def token_check(request, **kwargs):
    raise Http404
