from django.contrib import admin

from events.models import Event, Membership

# Photos and faces are not registered: the admin would show them without
# the consent rule of events.visibility.
admin.site.register(Event)
admin.site.register(Membership)
