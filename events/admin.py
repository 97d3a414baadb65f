from django.contrib import admin

from events import services
from events.models import Event, Membership

# Photos and faces are not registered: the admin would show them without
# the consent rule of events.visibility.
admin.site.register(Membership)


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    """Deleting an event here deletes its files and audits it, as the organizer's "Delete this event" does."""

    def delete_model(self, request, obj):
        services.delete_event(obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for event in queryset:
            services.delete_event(event, actor=request.user)
