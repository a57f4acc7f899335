"""Routes of the operations endpoints, at the root of the site."""

from django.urls import path

from ops import views

app_name = "ops"
urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics_view, name="metrics"),
]
# Included at the site's root (config/urls.py): the paths OpenEndpointsMiddleware answers.
OPEN_PATHS = frozenset(f"/{pattern.pattern}" for pattern in urlpatterns)
