"""Root routes: the Django admin for operators and the console."""

from django.contrib import admin
from django.urls import include, path

from accounts.forms import AdminLoginForm, AdminPasswordChangeForm
from accounts.views import auth, two_factor
from tokens.api import api_urls

admin.site.site_header = "Keyward operations"
admin.site.site_title = "Keyward operations"
admin.site.login_form = AdminLoginForm
admin.site.password_change_form = AdminPasswordChangeForm

# Uncaught exceptions: 503 when the database is down, else Django's 500 page.
handler500 = "ops.unavailable.server_error"

urlpatterns = [
    path("api/v1/", api_urls()),  # first: the busiest routes, resolved with the fewest tries
    path("", include("gateway.urls")),  # the check first: every guarded request asks it
    path("", include("gateway.usage_urls")),
    # admin.site.login's page, with the code step after the password.
    path("admin/login/", two_factor.admin_login, name="admin_login"),
    # admin.site.password_change, emailing the operator that their password changed.
    path(
        "admin/password_change/",
        admin.site.admin_view(auth.admin_password_change),
        name="admin_password_change",
    ),
    path("admin/", admin.site.urls),
    path("", include("ops.urls")),
    path("", include("tokens.urls")),
    path("", include("gateway.limit_urls")),
    path("", include("accounts.urls")),
]
