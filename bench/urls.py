"""The URLconf of benchmarks and load tests: Keyward's, plus the bare view at /bench/bare."""

from django.urls import path

from bench.bare import bare, bare_query
from config.urls import urlpatterns as keyward

BARE = "/bench/bare"
BARE_QUERY = "/bench/bare-query"

urlpatterns = [
    path(BARE.lstrip("/"), bare),
    path(BARE_QUERY.lstrip("/"), bare_query),
    *keyward,
]
