"""`make bench`: load N holders through the bulk importer, serve them with gunicorn as in
production, drive load from a separate process and print per-endpoint figures (see run.py)."""
