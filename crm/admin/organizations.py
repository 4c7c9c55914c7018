"""Organization labels in the admin: staff give an organization id the name they know it by;
filters, list columns and headings then show that name."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from crm.models import Organization


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("label", "id")
    search_fields = ("label", "=id")
    search_help_text = _("Label, or the exact organization id.")
    list_per_page = 50

    def get_readonly_fields(self, request, obj=None):
        """The id is the organization's identity: set once, on creation."""
        return ("id",) if obj is not None else ()
