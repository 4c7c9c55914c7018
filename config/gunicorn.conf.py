"""Gunicorn settings for production: sync workers (serialisation is CPU-bound), 2 x cores + 1."""

import multiprocessing
import os

bind = f"{os.environ.get('SERVER_HOST', '0.0.0.0')}:{os.environ.get('SERVER_PORT', '4003')}"  # noqa: S104 (containers listen on all interfaces)
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
timeout = 30
graceful_timeout = 30
max_requests = 1000
max_requests_jitter = 100
accesslog = "-"
errorlog = "-"
