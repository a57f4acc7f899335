"""The URLconf of benchmarks and load tests: Keyward's, plus the bare views under /bench/."""

from django.urls import path

from bench.bare import bare, bare_driver_query, bare_query
from config.urls import urlpatterns as keyward

BARE = "/bench/bare"
BARE_QUERY = "/bench/bare-query"
BARE_DRIVER = "/bench/bare-driver"

urlpatterns = [
    path(BARE.lstrip("/"), bare),
    path(BARE_QUERY.lstrip("/"), bare_query),
    path(BARE_DRIVER.lstrip("/"), bare_driver_query),
    *keyward,
]
