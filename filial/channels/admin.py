from django.contrib import admin

from filial.channels.models import Channel, InboundEvent


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ("name", "network", "unit", "status", "audience")
    list_filter = ("network", "status")
    exclude = ("credentials_encrypted",)
    # The API address changes only through the page form or the API (channels.services), which require the
    # secrets again and allow only the networks' own hosts; the connector registry refuses other addresses anyway.
    readonly_fields = ("api_base_url",)


@admin.register(InboundEvent)
class InboundEventAdmin(admin.ModelAdmin):
    list_display = ("received_at", "channel", "kind", "external_id", "state")
    list_filter = ("network", "kind", "state")
    readonly_fields = ("channel", "network", "received_at", "external_id", "kind", "payload")
