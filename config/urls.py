"""Root routes: the Django admin for operators and the console."""

from django.contrib import admin
from django.urls import include, path

from accounts.forms import AdminLoginForm, AdminPasswordChangeForm
from tokens.api import api_urls

admin.site.site_header = "Keyward operations"
admin.site.site_title = "Keyward operations"
admin.site.login_form = AdminLoginForm
admin.site.password_change_form = AdminPasswordChangeForm

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api_urls()),
    path("", include("tokens.urls")),
    path("", include("accounts.urls")),
]
