from django.contrib import admin

from filial.channels.models import Channel, ChannelSnapshot


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ("name", "network", "unit", "status", "audience")
    list_filter = ("network", "status")
    exclude = ("credentials_encrypted",)


@admin.register(ChannelSnapshot)
class ChannelSnapshotAdmin(admin.ModelAdmin):
    list_display = ("channel", "at", "followers")
