"""What the kernel's commands share: help texts laid out as written, with an epilog."""

import argparse

from django.core.management.base import BaseCommand, DjangoHelpFormatter


def positive_int(value: str) -> int:
    """An argparse type: a whole number of at least 1, with a clear message otherwise."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {value!r}")
    return number


class HelpFormatter(DjangoHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Django's option order, and descriptions/epilogs printed as written (tables, examples)."""


class DocumentedCommand(BaseCommand):
    """A command whose `--help` ends with `epilog` (examples, exit codes)."""

    epilog = ""

    def create_parser(self, prog_name, subcommand, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        kwargs.setdefault("epilog", self.epilog)
        return super().create_parser(prog_name, subcommand, **kwargs)
