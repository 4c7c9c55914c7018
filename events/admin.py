"""The outbox in the back-office: a read-only list of events (ids, types, timestamps; no
personal data is ever in them) and the backlog block on the admin index page
(`{% outbox_backlog %}`, events/templatetags/events_admin.py)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from crm.admin.lists import ReadOnlyAdmin, organization_label, short_id
from crm.admin.paging import PagedAdmin, PagedChangeList
from crm.models import organization_labels
from events.models import OutboxEvent

# The index page shows the backlog above the app list (templates/admin/events/index.html
# extends Django's own index; a dashboard can place `{% outbox_backlog %}` itself instead).
admin.site.index_template = "admin/events/index.html"


class StateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return (("pending", _("Pending")), ("sent", _("Sent")))

    def queryset(self, request, queryset):
        if self.value() == "pending":
            return queryset.filter(sent_at__isnull=True)
        if self.value() == "sent":
            return queryset.filter(sent_at__isnull=False)
        return queryset


@admin.register(OutboxEvent)
class OutboxEventAdmin(PagedAdmin, ReadOnlyAdmin):
    """The outbox, paged like every back-office list (`crm.admin.paging`: the count is
    bounded, never a `COUNT(*)` of the outbox); ids shortened (in full in the tooltip) and
    organizations by label, so the list fits a 1,440 px screen."""

    list_display = (
        "seq",
        "type",
        "aggregate",
        "organization",
        "created_at",
        "sent_at",
        "attempts",
        "next_attempt_at",
    )
    list_filter = (StateFilter, "type")
    search_fields = ("=event_id", "=aggregate_id", "=organization_id")
    search_help_text = _("Exact event id, record id or organization id.")
    ordering = ("-seq",)

    def get_changelist(self, request, **kwargs):
        return OutboxChangeList

    @admin.display(description=_("record id"))
    def aggregate(self, event: OutboxEvent):
        return short_id(event.aggregate_id)

    @admin.display(description=_("organization"))
    def organization(self, event: OutboxEvent):
        return organization_label(event.organization_id, getattr(event, "labels", None))


class OutboxChangeList(PagedChangeList):
    """The page's organization labels in one query (the organization column)."""

    def get_results(self, request) -> None:
        super().get_results(request)
        labels = organization_labels(event.organization_id for event in self.result_list)
        for event in self.result_list:
            event.labels = labels
