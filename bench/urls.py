"""The URLconf of benchmarks and load tests: Keyward's, plus the bare view at /bench/bare."""

from django.urls import path

from bench.bare import bare
from config.urls import urlpatterns as keyward

BARE = "/bench/bare"

urlpatterns = [path(BARE.lstrip("/"), bare), *keyward]
