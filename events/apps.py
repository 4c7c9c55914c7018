from django.apps import AppConfig


class EventsConfig(AppConfig):
    """The change events: a transactional outbox filled by the lifecycle core's hooks, and the
    relay (`manage.py relay_events`) that publishes it to RabbitMQ as CloudEvents."""

    name = "events"
    verbose_name = "Change events"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm import lifecycle
        from events import outbox

        lifecycle.on_change(outbox.on_change)
        lifecycle.before_erase(outbox.before_erase)
