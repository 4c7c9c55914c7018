"""The outbox in the back-office: a read-only list of events (ids, types, timestamps; no
personal data is ever in them) and the backlog block on the admin index page
(`{% outbox_backlog %}`, events/templatetags/events_admin.py)."""

from django.contrib import admin

from crm.admin.lists import ReadOnlyAdmin
from events.models import OutboxEvent

# The index page shows the backlog above the app list (templates/admin/events/index.html
# extends Django's own index; a dashboard can place `{% outbox_backlog %}` itself instead).
admin.site.index_template = "admin/events/index.html"


class StateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return (("pending", "Pending"), ("sent", "Sent"))

    def queryset(self, request, queryset):
        if self.value() == "pending":
            return queryset.filter(sent_at__isnull=True)
        if self.value() == "sent":
            return queryset.filter(sent_at__isnull=False)
        return queryset


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdmin):
    list_display = (
        "seq",
        "type",
        "aggregate_id",
        "organization_id",
        "created_at",
        "sent_at",
        "attempts",
        "next_attempt_at",
    )
    list_filter = (StateFilter, "type")
    search_fields = ("=event_id", "=aggregate_id", "=organization_id")
    search_help_text = "Exact event id, record id or organization id."
    list_per_page = 50
    show_full_result_count = False
    ordering = ("-seq",)
