from django.contrib import admin

from filial.libraries.models import LibrarySystem, Unit


@admin.register(LibrarySystem)
class LibrarySystemAdmin(admin.ModelAdmin):
    list_display = ("name", "timezone")


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ("name", "system", "kind", "parent", "approval_required")
    list_filter = ("system", "kind")
    readonly_fields = ("path",)
