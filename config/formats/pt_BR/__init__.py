"""ISO dates (config/formats/iso.py)."""
