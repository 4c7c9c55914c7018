"""WSGI entry point (gunicorn config.wsgi).

Django's application behind `crm.api.request_body.BufferedRequestBody`: every request body is
read in full first (chunked ones included), and gunicorn's client deadline
(`config.gunicorn_worker`) stops once it is in.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

django_application = get_wsgi_application()

from django.conf import settings  # noqa: E402

from config.gunicorn_worker import request_received  # noqa: E402
from crm.api.request_body import BufferedRequestBody  # noqa: E402

application = BufferedRequestBody(
    django_application, limit=settings.MAX_REQUEST_BODY_BYTES, on_received=request_received
)

# Keys that cannot read this database's data stop the start here (gunicorn and runserver)
# with a message saying which key, instead of serving a 500 on every read.
from crm.crypto.keycheck import refuse_to_start_with_wrong_keys  # noqa: E402

refuse_to_start_with_wrong_keys()

# Access Manager mode: say in the log whether it answers (as lib-auth does at boot). Never
# blocks the start beyond PLUGIN_AUTH_TIMEOUT_SECONDS; a failure only logs, requests fail closed.
from crm.access.checks import probe_access_manager  # noqa: E402

probe_access_manager()

# Traces (off unless ENABLE_TELEMETRY): the exporter and its background thread are made here, in
# each gunicorn worker after the fork (config/gunicorn.conf.py does not preload the app).
from crm.observability import tracing  # noqa: E402

tracing.setup()
