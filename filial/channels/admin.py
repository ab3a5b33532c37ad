from django.contrib import admin

from filial.channels.models import Channel, ChannelSnapshot, InboundEvent


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ("name", "network", "unit", "status", "audience")
    list_filter = ("network", "status")
    exclude = ("credentials_encrypted",)


@admin.register(ChannelSnapshot)
class ChannelSnapshotAdmin(admin.ModelAdmin):
    list_display = ("channel", "at", "followers")


@admin.register(InboundEvent)
class InboundEventAdmin(admin.ModelAdmin):
    list_display = ("received_at", "channel", "kind", "external_id", "state")
    list_filter = ("network", "kind", "state")
    readonly_fields = ("channel", "network", "received_at", "external_id", "kind", "payload")
