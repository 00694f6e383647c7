"""Several organizations: each swept exactly once across shards; one failing stops no other."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner

from tests.sweep.helpers import FAST_RETRIES, link
from tests.threaded import ThreadedSandbox
from worker.cli import cli

SOON = timedelta(minutes=10)
ORGS = ("acme-mx", "globex-mx", "initech-mx", "umbrella-mx", "stark-mx")


def _env_name(org: str) -> str:
    return "KEY_" + org.upper().replace("-", "_")


def _setup(
    sandbox: ThreadedSandbox, tmp_path: Path
) -> tuple[Path, dict[str, str], dict[str, list[str]]]:
    admin = sandbox.server.admin
    environ = {"HARMONY_BASE_URL": sandbox.server.base_url, **FAST_RETRIES}
    links: dict[str, list[str]] = {}
    config = ["rate = 200", "[policies]", 'expiring_within = "1h"']
    for org in ORGS:
        created = sandbox.call(admin.create_org, org, api_key=f"key-{org}")
        rows = sandbox.call(
            admin.add_links, [link(expires_in=SOON) for _ in range(3)], api_key=created["api_key"]
        )
        links[org] = [row["id"] for row in rows]
        environ[_env_name(org)] = created["api_key"]
        config += ["", "[[orgs]]", f'name = "{org}"', f'api_key_env = "{_env_name(org)}"']
    path = tmp_path / "orgs.toml"
    path.write_text("\n".join(config) + "\n")
    return path, environ, links


def test_three_shards_sweep_each_organization_exactly_once(
    threaded_sandbox: ThreadedSandbox, tmp_path: Path
) -> None:
    config, environ, links = _setup(threaded_sandbox, tmp_path)
    swept: list[str] = []
    for index in range(3):
        report = tmp_path / f"shard-{index}.json"
        result = CliRunner().invoke(
            cli,
            [
                "run",
                "--config",
                str(config),
                "--yes",
                "--shard",
                f"{index}/3",
                "--report",
                str(report),
            ],
            env=environ,
            catch_exceptions=False,
        )
        assert result.exit_code == 0, result.output
        if report.exists():
            document = json.loads(report.read_text())
            swept += [section["organization"] for section in document["organizations"]]

    assert sorted(swept) == sorted(ORGS)
    counters = threaded_sandbox.call(threaded_sandbox.server.admin.counters)
    every_link = [link_id for ids in links.values() for link_id in ids]
    assert counters["patches_per_link"] == dict.fromkeys(every_link, 1)


def test_one_refused_key_does_not_stop_the_others(
    threaded_sandbox: ThreadedSandbox, tmp_path: Path
) -> None:
    config, environ, links = _setup(threaded_sandbox, tmp_path)
    environ[_env_name("globex-mx")] = "revoked-key"
    report = tmp_path / "all.json"

    result = CliRunner().invoke(
        cli,
        ["run", "--config", str(config), "--yes", "--report", str(report)],
        env=environ,
        catch_exceptions=False,
    )

    assert result.exit_code == 3, result.output
    document = json.loads(report.read_text())
    sections = {s["organization"]: s for s in document["organizations"]}
    assert sections["globex-mx"]["aborted"] == "unauthorized"
    for org in ORGS:
        if org != "globex-mx":
            assert sections[org]["summary"]["cancelled"] == 3
    assert document["summary"]["cancelled"] == 3 * (len(ORGS) - 1)
    counters = threaded_sandbox.call(threaded_sandbox.server.admin.counters)
    assert set(counters["patches_per_link"]) == {
        link_id for org, ids in links.items() if org != "globex-mx" for link_id in ids
    }
