"""ISO dates in this language too (config/formats/iso.py)."""

from config.formats.iso import *  # noqa: F403
