from django.contrib import admin

from filial.publishing.models import Delivery, Event, Media, Post


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ("headline", "kind", "unit", "state", "publish_at")
    list_filter = ("state", "kind", "unit")
    search_fields = ("title", "text")
    raw_id_fields = ("event",)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("post", "channel", "state", "due_at", "external_id")
    list_filter = ("state",)


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("title", "unit", "starts_at", "place")


@admin.register(Media)
class MediaAdmin(admin.ModelAdmin):
    list_display = ("original_name", "unit", "width", "height", "created_at")
