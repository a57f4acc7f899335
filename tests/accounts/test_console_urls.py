"""The frame's links (accounts.console_urls) are what reverse() gives, reversed once."""

from __future__ import annotations

import re

from django.test import override_settings
from django.urls import clear_script_prefix, include, path, reverse, set_script_prefix

from accounts.console_urls import ACCOUNT_PAGES, WORKSPACE_PAGES, console_urls
from tests.factories import signed_in

urlpatterns = [path("mounted/", include("config.urls"))]


def test_each_link_is_reverse_s():
    urls = console_urls("acme")
    assert set(urls) == set(ACCOUNT_PAGES) | set(WORKSPACE_PAGES)
    for key, name in ACCOUNT_PAGES.items():
        assert urls[key] == reverse(name)
    for key, name in WORKSPACE_PAGES.items():
        assert urls[key] == reverse(name, kwargs={"slug": "acme"})
    assert set(console_urls()) == set(ACCOUNT_PAGES)


def test_the_links_follow_the_script_prefix_and_the_urlconf():
    set_script_prefix("/keyward/")
    try:
        assert console_urls("acme")["tokens"] == "/keyward/w/acme/settings/tokens/"
    finally:
        clear_script_prefix()
    assert console_urls("acme")["tokens"] == "/w/acme/settings/tokens/"
    with override_settings(ROOT_URLCONF=__name__):  # Keyward mounted under /mounted/
        assert console_urls("acme")["tokens"] == "/mounted/w/acme/settings/tokens/"
    assert console_urls("acme")["tokens"] == "/w/acme/settings/tokens/"


def test_the_page_links_to_the_workspace_s_pages(workspace, admin_user):
    html = signed_in(admin_user).get(reverse("tokens:list", args=[workspace.slug])).content
    links = set(re.findall(r'href="([^"]+)"', html.decode()))
    for key in ("overview", "settings", "tokens", "members", "resources", "policies", "audit"):
        assert console_urls(workspace.slug)[key] in links, key
    assert workspace.get_absolute_url() == reverse("accounts:workspace_overview", args=["acme"])
