"""What the admin's model pages share."""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Show records whose changes must go through the console's audited services."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
