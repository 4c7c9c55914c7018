"""`{% outbox_backlog %}`: the change-event backlog block of the back-office (pending count,
age of the oldest pending event, a link to the pending list)."""

from django import template
from django.conf import settings

from events.backlog import backlog

register = template.Library()


@register.inclusion_tag("admin/events/backlog.html", takes_context=True)
def outbox_backlog(context) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None)
    visible = bool(user and user.has_perm("events.view_outboxevent"))
    found = backlog() if visible else None
    return {
        "visible": visible,
        "enabled": settings.EVENTS_ENABLED,
        "backlog": found,
        "age": _age(found.oldest_pending_age_seconds) if found else "",
    }


def _age(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
