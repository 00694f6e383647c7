"""The command line: a thin shell that parses options and calls one core coroutine."""

from __future__ import annotations

import click

from worker.__about__ import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="harmony-sweeper")
def cli() -> None:
    """Withdraw PENDING Harmony payment links that policy selects."""


def main() -> None:
    """Console-script entry point."""
    cli()
