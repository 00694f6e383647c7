"""The command line: a thin shell that parses options and calls one core coroutine.

Exit codes are mapped in ``worker.cli.exit_codes``; nothing below this module exits or prints.
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
from worker.cli.progress import make_console
from worker.errors import ConfigError, SweeperError
from worker.ops.lock import AlreadyRunning
from worker.ops.logs import configure_logging
from worker.report import Report
from worker.settings import ENV_VARS, load_settings

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
    "names; 130/143 interrupted (SIGINT/SIGTERM), report written. Several organizations: "
    "the worst of theirs."
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="harmony-sweeper")
def cli() -> None:
    """Withdraw PENDING Harmony payment links that policy selects."""


cli.add_command(sandbox_command, "sandbox")


@cli.command("run", epilog=f"{_ENV_HELP}\n\n{_EXIT_HELP}")
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="TOML settings file (see config.example.toml).",
)
@click.option("--base-url", metavar="URL", help="API root; https unless loopback.")
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
def run_command(config_file: Path | None, yes: bool, **flags: Any) -> None:
    """Scan PENDING links, plan by policy, cancel under the rate limit, report."""
    given = {name: value for name, value in flags.items() if value is not None}
    console = make_console(sys.stderr)
    try:
        settings = load_settings(config_file=config_file, **given)
        configure_logging(
            renderer=settings.logging.format,
            level=settings.logging.level,
            secrets=runner.api_keys(settings),
        )
        runner.check_attendance(settings, yes=yes, interactive=runner.interactive())
        orgs = runner.plan_organizations(settings)
        code = runner.execute(settings, orgs, yes=yes, console=console)
    except SweeperError as exc:
        code = _expected_failure(exc)
    sys.exit(code)


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


def _expected_failure(exc: SweeperError) -> ExitCode:
    """The exit code of an error the project raises on purpose, said in one line.

    The codes come from ``worker.cli.exit_codes``; this only says them. A configuration error
    is a usage error to click (``Error: ...`` and the usage hint, exit 2), like a bad flag;
    the others are one log event, since logging is configured by the time they can happen.
    """
    code = exit_code_for_error(exc)
    if isinstance(exc, ConfigError):
        # Shown as click shows a bad flag; the usage hint only inside a command's context.
        click.UsageError(str(exc), ctx=click.get_current_context(silent=True)).show()
    elif isinstance(exc, AlreadyRunning):
        _log.warning("run.locked", lock_file=str(exc.path), error=str(exc))
    else:
        _log.error("run.failed", error=str(exc), error_type=type(exc).__name__, exit_code=code)
    return code


def main() -> None:
    """Console-script entry point: the only place that catches every exception.

    Expected errors become their exit codes in the commands (``_expected_failure``), so that
    they are the same under click's test runner; this catches what nobody expected.
    """
    try:
        cli()
    except SweeperError as exc:
        # Raised outside a command's own mapping (none does today): still no traceback.
        sys.exit(_expected_failure(exc))
    except Exception:  # noqa: BLE001 (the outermost main: a bug is logged, redacted, and fails)
        _log.exception("run.crashed")
        sys.exit(ExitCode.FAILURES)
