"""The command line: a thin shell that parses options and calls one core coroutine.

Exit codes are decided in ``worker.cli.exit_codes``; an error becomes one in ``_Command``, a
bug in ``main()``. Nothing below this package exits or prints.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import anyio
import click
import structlog
from rich.console import Console

from sandbox.cli import sandbox_command
from worker.__about__ import __version__
from worker.cli import run as runner
from worker.cli.demo import DEMO_LINKS, run_demo
from worker.cli.exit_codes import ExitCode, exit_code_for_error, exit_code_for_report
from worker.cli.plan_view import DEFAULT_SHOW, policies_in_words
from worker.cli.probe_render import print_probe_table, probe_json_text
from worker.cli.progress import make_console
from worker.errors import AlreadyRunning, ConfigError, SweeperError
from worker.ops.logs import configure_logging
from worker.probe import DEFAULT_MAX_REQUESTS, ProbeResult, probe
from worker.report import Report
from worker.settings import ENV_VARS, Settings, load_settings

_log = structlog.get_logger("worker.cli")

_ENV_HELP = "\b\nEnvironment (flags win over it; it wins over --config):\n" + "\n".join(
    f"  {name:<44} {field}" for field, name in ENV_VARS.items()
)
_EXIT_HELP = (
    "\b\nExit codes: 0 done; 1 some cancellations failed; 2 usage or configuration error, "
    "nothing sent; 3 the API refused the key; 4 safety abort (plan over the cap, failure "
    "threshold, incomplete scan, declined); 5 another run holds --lock-file; 6 the API "
    "could not be reached (DNS, refused, TLS, no answer by the scan deadline), nothing "
    "cancelled; 7 finished, but the report went to the fallback a report.fallback log line "
    "names; 8 (probe only) the API behaves in a way the sweep must work around; "
    "130/143 interrupted (SIGINT/SIGTERM), report written. Several organizations: "
    "the worst of theirs."
)

_EXAMPLES_HELP = (
    "\b\nExamples:\n"
    "  # Review what a sweep would cancel, and keep the plan (nothing is cancelled):\n"
    "  harmony-sweeper run --expiring-within 2h --duplicates --dry-run --report plan.json\n"
    "  # Apply exactly that reviewed plan (links it lists, still PENDING and unexpired):\n"
    "  harmony-sweeper run --manifest plan.json --yes --report applied.json\n"
    "  # Unattended (cron, CronJob): JSON logs on stderr, the summary as JSON on stdout:\n"
    "  harmony-sweeper run --config /etc/sweeper.toml --yes --lock-file /run/sweeper.lock \\\n"
    "      --audit-log /var/log/sweeper-audit.jsonl --report /var/lib/sweeper/last.json -o json"
)


class _Command(click.Command):
    """A harmony-sweeper command: the one place where an expected error becomes its exit code.

    Here rather than in ``main()``, because click forces it: a ``ConfigError`` is shown as
    click shows a bad flag (``Error: ...`` after the command's usage hint, exit 2), and that
    needs the command's context, which lives only while click invokes the command; and
    click's test runner enters at ``cli``, never at ``main()``. ``main()`` catches only bugs.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SweeperError as exc:
            ctx.exit(_expected_failure(exc, ctx))


class _Group(click.Group):
    command_class = _Command


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="harmony-sweeper")
def cli() -> None:
    """Withdraw PENDING Harmony payment links that policy selects."""


cli.add_command(sandbox_command, "sandbox")

# The options every command that talks to the API shares, declared once.
_config_option = click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="TOML settings file (see config.example.toml).",
)
_base_url_option = click.option(
    "--base-url", metavar="URL", help="API root; https unless loopback."
)


@cli.command("run", epilog=f"{_EXAMPLES_HELP}\n\n{_ENV_HELP}\n\n{_EXIT_HELP}")
@_config_option
@_base_url_option
@click.option(
    "--expiring-within",
    metavar="DURATION",
    help="Cancel links whose expiresAt falls within this window from now (90s, 30m, 2h).",
)
@click.option(
    "--duplicates",
    is_flag=True,
    default=None,
    help="Cancel all but the newest PENDING link of each externalId.",
)
@click.option(
    "--created-before", metavar="ISO8601", help="Cancel links created before this instant."
)
@click.option(
    "--paid-siblings",
    is_flag=True,
    default=None,
    help="Cancel the live PENDING links of an order (externalId) already paid (CONFIRMED "
    "within [policies] paid_lookback, 30d by default); report the orders paid twice.",
)
@click.option(
    "--manifest",
    metavar="FILE",
    help="Cancel the links a CSV/JSONL file or an approved dry-run JSON report lists.",
)
@click.option("--exclude", metavar="FILE", help="Never cancel the ids/externalIds listed here.")
@click.option("--rate", metavar="RPS|auto", help="Requests per second, or auto (the default).")
@click.option("--concurrency", metavar="N", help="Requests in flight (default: Little's law).")
@click.option(
    "--max-cancellations",
    metavar="N",
    help="Abort before the first cancel when the plan is larger (default 1000).",
)
@click.option(
    "--report",
    metavar="FILE",
    multiple=True,
    # Not given is None, not (): an empty tuple would override the file and the environment.
    callback=lambda _ctx, _param, value: value or None,
    help="Write the report here: .json, .csv or .md by extension. Repeat it for several "
    "formats of one run (one plan); the paths must differ.",
)
@click.option("--dry-run", is_flag=True, default=None, help="Plan and report; send no cancel.")
@click.option("--yes", is_flag=True, default=False, help="Cancel without asking.")
@click.option(
    "--lock-file",
    metavar="PATH",
    help="Hold an exclusive lock on PATH; exit 5 at once if another run holds it.",
)
@click.option("--audit-log", metavar="FILE", help="Append one JSON line per cancellation to FILE.")
@click.option(
    "--pushgateway", metavar="URL", help="Push batch-job metrics to this Prometheus Pushgateway."
)
@click.option(
    "--shard",
    metavar="INDEX/COUNT",
    help="Sweep only the organizations of this shard (default: JOB_COMPLETION_INDEX/"
    "SWEEPER_SHARD_COUNT).",
)
@click.option("-q", "--quiet", is_flag=True, default=False, help="Log errors only.")
@click.option(
    "-v", "--verbose", is_flag=True, default=False, help="Log every event, debug included."
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
    help="Log at this level (default: warning at a terminal, info off one; [logging] level).",
)
@click.option(
    "--show",
    type=click.IntRange(min=0),
    default=DEFAULT_SHOW,
    show_default=True,
    metavar="N",
    help="Links the plan lists at a terminal (the report lists every link).",
)
@click.option(
    "-o",
    "--output",
    type=click.Choice(["text", "json"], case_sensitive=False),
    default="text",
    show_default=True,
    help="json: print the run's summary (the report without its items) as JSON on stdout.",
)
def run_command(
    *,
    config_file: Path | None,
    yes: bool,
    quiet: bool,
    verbose: bool,
    log_level: str | None,
    show: int,
    output: runner.Output,
    **flags: Any,
) -> None:
    """Scan PENDING links, plan by policy, cancel under the rate limit, report."""
    given = {name: value for name, value in flags.items() if value is not None}
    console = make_console(sys.stderr)
    settings = load_settings(config_file=config_file, **given)
    configure_logging(
        renderer=settings.logging.format,
        level=runner.log_level(settings, quiet=quiet, verbose=verbose, flag=log_level),
        secrets=runner.api_keys(settings),
        console_words={"policies": policies_in_words},
    )
    runner.check_attendance(settings, yes=yes, interactive=runner.interactive())
    orgs = runner.plan_organizations(settings)
    code = runner.execute(settings, orgs, yes=yes, console=console, show=show, output=output)
    sys.exit(code)


_PROBE_EXIT_HELP = (
    "\b\nExit codes: 0 everything the sweep relies on holds; 2 usage or configuration error; "
    "3 the API refused the key; 4 the API's answers could not be read; 6 the API could not "
    "be reached; 8 something does not hold, or was not checked within --max-requests: "
    "see the verdicts."
)


@cli.command("probe", epilog=f"{_ENV_HELP}\n\n{_PROBE_EXIT_HELP}")
@_config_option
@_base_url_option
@click.option(
    "--max-requests",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_REQUESTS,
    show_default=True,
    help="Send at most this many requests (all GET).",
)
@click.option(
    "--output",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="A table for people, or one JSON document for machines (stdout).",
)
def probe_command(
    config_file: Path | None, base_url: str | None, max_requests: int, output: str
) -> None:
    """Find out, read-only, how the API lists, pages, limits and keeps time."""
    loaded = load_settings(config_file=config_file, base_url=base_url)
    configure_logging(
        renderer=loaded.logging.format,
        level=loaded.logging.level,
        secrets=runner.api_keys(loaded),
    )
    # With [[orgs]], the first organization's key: every key reaches the same API.
    settings = loaded.organizations()[0].settings
    result = anyio.run(_probe, settings, max_requests)
    if output == "json":
        click.echo(probe_json_text(result))
    else:
        print_probe_table(result, make_console(sys.stdout))
    sys.exit(ExitCode.OK if result.holds else ExitCode.PROBE_FINDINGS)


async def _probe(settings: Settings, max_requests: int) -> ProbeResult:
    return await probe(settings, max_requests=max_requests)


@cli.command("demo")
@click.option(
    "--links", default=DEMO_LINKS, show_default=True, help="Links to seed in the sandbox."
)
@click.option(
    "--reports",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("reports"),
    show_default=True,
    help="Where the demo writes its reports.",
)
def demo_command(links: int, reports: Path) -> None:
    """Sweep the embedded sandbox: the dry-run plan as a table, then the execution."""
    configure_logging(renderer="console", level="warning")
    console = make_console(sys.stderr)
    report = anyio.run(_demo, console, reports, links)
    sys.exit(exit_code_for_report(report))


async def _demo(console: Console, reports: Path, links: int) -> Report:
    return await run_demo(console, reports=reports, links=links)


def _expected_failure(exc: SweeperError, ctx: click.Context) -> ExitCode:
    """The exit code of an error the project raises on purpose, said in one line.

    The codes come from ``worker.cli.exit_codes``; this only says them. A configuration error
    is a usage error to click (``Error: ...`` and the usage hint, exit 2), like a bad flag;
    the others are one log event, since logging is configured by the time they can happen.
    """
    code = exit_code_for_error(exc)
    if isinstance(exc, ConfigError):
        click.UsageError(str(exc), ctx=ctx).show()
    elif isinstance(exc, AlreadyRunning):
        _log.warning("run.locked", lock_file=str(exc.path), error=str(exc))
    else:
        _log.error("run.failed", error=str(exc), error_type=type(exc).__name__, exit_code=code)
    return code


def main() -> None:
    """Console-script entry point: the only place that catches every exception.

    Expected errors have become their exit codes in ``_Command`` by now; this catches what
    nobody expected.
    """
    try:
        cli()
    except Exception:  # noqa: BLE001 (the outermost main: a bug is logged, redacted, and fails)
        _log.exception("run.crashed")
        sys.exit(ExitCode.FAILURES)
