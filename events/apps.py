from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EventsConfig(AppConfig):
    """The change events: a transactional outbox that the domain services fill in the write's
    own transaction (`events.outbox`), and the relay (`manage.py relay_events`) that publishes
    it to RabbitMQ as CloudEvents."""

    name = "events"
    verbose_name = _("Change events")
    default_auto_field = "django.db.models.BigAutoField"
