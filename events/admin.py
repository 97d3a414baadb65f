from django.contrib import admin

from events import services
from events.models import Event, Membership

# Photos and faces are not registered: the admin would show them without
# the consent rule of events.visibility.


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    """A member's sharing choice is theirs alone: the admin shows it and cannot change it."""

    readonly_fields = ["sharing"]


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    """Deleting an event here deletes its files and audits it, as the organizer's "Delete this event" does."""

    def save_model(self, request, obj, form, change):
        # Through the organizer's service, so that a policy change is audited.
        if change:
            services.update_event_settings(obj, request.user, obj.name, obj.unknown_face_policy)
        super().save_model(request, obj, form, change)

    def delete_model(self, request, obj):
        services.delete_event(obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for event in queryset:
            services.delete_event(event, actor=request.user)
