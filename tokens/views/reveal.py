"""Placeholder, being written."""

from django.http import Http404


def token_reveal(request, **kwargs):
    raise Http404
