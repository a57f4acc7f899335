"""Placeholder, being written."""

from django.http import Http404


def policy_settings(request, **kwargs):
    raise Http404
