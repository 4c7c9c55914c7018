"""WSGI entry point (gunicorn config.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

application = get_wsgi_application()

# Keys that cannot read this database's data stop the start here (gunicorn and runserver)
# with a message saying which key, instead of serving a 500 on every read.
from crm.keycheck import refuse_to_start_with_wrong_keys  # noqa: E402

refuse_to_start_with_wrong_keys()
