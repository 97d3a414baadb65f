from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts import services
from accounts.models import AuditEntry, User


@admin.register(User)
class FacegateUserAdmin(UserAdmin):
    """Deleting a user here erases them as "Delete my account" does, with the admin as the actor."""

    def delete_model(self, request, obj):
        services.delete_account(obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for user in queryset:
            services.delete_account(user, actor=request.user)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Admins read the log, and the site offers no way to edit or delete it."""

    list_display = ["at", "action", "actor_id", "subject_id", "event_id"]
    list_filter = ["action"]
    search_fields = ["actor_id", "subject_id", "event_id"]
    readonly_fields = ["at", "action", "actor_id", "subject_id", "event_id", "details"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
