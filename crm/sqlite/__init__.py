"""Django's SQLite backend that keeps the planner's statistics fresh
(`ENGINE = "crm.sqlite"`; see `base.py`)."""
