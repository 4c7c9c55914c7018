"""What an operator watches the service with: OpenTelemetry traces (`tracing`, the switch and
the calls the rest of the code makes; `otel`, the SDK side, imported only when telemetry is on;
`middleware`, the request span). docs/operations.md "Traces" says what is traced and what never is.

May import: Django and OpenTelemetry; `middleware` also `crm.api.middleware` (the route
template). `crm.api`, `crm.access` and `events` call `tracing`. See docs/architecture.md.
"""
