"""Django's SQLite backend that keeps the planner's statistics fresh
(`ENGINE = "crm.db.sqlite"`; see `base.py`)."""
