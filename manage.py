#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    if sys.argv[1:2] != ["runserver"]:
        # Commands (migrate, hard_delete purges, key rotation) run long statements on purpose:
        # the 5 s bound of requests serving clients does not apply unless set explicitly.
        os.environ.setdefault("DB_STATEMENT_TIMEOUT_MS", "0")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
