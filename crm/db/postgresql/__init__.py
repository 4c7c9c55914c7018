"""Django's PostgreSQL backend with a client-side deadline on every wait for the server
(`ENGINE = "crm.db.postgresql"`; see `base.py`)."""
