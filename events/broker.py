"""Publishing to RabbitMQ: an outbox row as a CloudEvents 1.0 message (AMQP binding, binary
content mode) on a durable topic exchange, with publisher confirms.

The envelope is made by the CloudEvents SDK (`cloudevents.core.bindings.amqp`): attributes
become `cloudEvents_*` application properties (AMQP 0-9-1 headers), `datacontenttype` the
content type, the JSON payload the body. `subject` is the aggregate id, the `tenantid`
extension the organization id; the routing key is the `type` (`studio.lerian.holder.created`).
"""

import pika
import pika.exceptions
from cloudevents.core.bindings import amqp
from cloudevents.core.v1.event import CloudEvent

from events import catalogue
from events.models import OutboxEvent

# What losing the broker (or never reaching it) looks like to pika.
UNAVAILABLE = (
    pika.exceptions.AMQPError,  # connection and channel errors, including a lost connection
    OSError,
)


class PublishRefused(Exception):
    """The broker refused (nacked) one message; the connection is fine."""


def cloud_event(row: OutboxEvent) -> CloudEvent:
    return CloudEvent(
        {
            "id": str(row.event_id),
            "source": catalogue.SOURCE,
            "type": catalogue.ce_type(row.type),
            "subject": str(row.aggregate_id),
            "time": row.occurred_at,
            "datacontenttype": "application/json",
            "tenantid": str(row.organization_id),
        },
        row.payload,
    )


def message(row: OutboxEvent) -> tuple[str, pika.BasicProperties, bytes]:
    """(routing key, properties, body) of one outbox row."""
    event = cloud_event(row)
    binary = amqp.to_binary(event, amqp.JSONFormat())
    properties = pika.BasicProperties(
        content_type=binary.properties[amqp.CONTENT_TYPE_PROPERTY],
        headers=binary.application_properties,
        message_id=str(row.event_id),
        delivery_mode=pika.DeliveryMode.Persistent,
    )
    return event.get_type(), properties, binary.application_data


class Publisher:
    """One connection and one confirming channel to the broker at `url`."""

    def __init__(self, url: str, exchange: str) -> None:
        parameters = pika.URLParameters(url)
        parameters.connection_attempts = 1
        parameters.socket_timeout = 5
        parameters.blocked_connection_timeout = 20
        self.exchange = exchange
        self.connection = pika.BlockingConnection(parameters)
        self.channel = self.connection.channel()
        self.channel.exchange_declare(exchange, exchange_type="topic", durable=True)
        self.channel.confirm_delivery()

    def publish(self, row: OutboxEvent) -> None:
        """Returns once the broker has confirmed the message; `PublishRefused` on a nack,
        one of `UNAVAILABLE` when the connection is gone."""
        routing_key, properties, body = message(row)
        try:
            self.channel.basic_publish(self.exchange, routing_key, body, properties)
        except pika.exceptions.NackError as exc:
            raise PublishRefused(routing_key) from exc

    def idle(self, seconds: float) -> None:
        """Wait, answering the broker's heartbeats meanwhile."""
        self.connection.process_data_events(time_limit=seconds)

    def close(self) -> None:
        try:
            if self.connection.is_open:
                self.connection.close()
        except UNAVAILABLE:
            pass
