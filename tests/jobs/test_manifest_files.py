"""Manifest and exclude files: every format, and every way a file is refused."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from jobs import Exclusions, Manifest, PolicyInputError, load_exclusions, load_manifest
from jobs.manifest import MAX_FILE_BYTES
from tests.jobs.factories import make_link, uid

A, B, C = uid(0xA1), uid(0xB2), uid(0xC3)


def report(mode: str, items: list[dict[str, object]]) -> str:
    """A JSON report in the worker's public schema (only what manifests read matters)."""
    return json.dumps(
        {
            "run_id": "r1",
            "mode": mode,
            "started_at": "2026-01-09T10:30:00Z",
            "finished_at": "2026-01-09T10:31:00Z",
            "policies": {"duplicate": "keep_newest"},
            "summary": {"scanned": 3, "planned": 2},
            "items": items,
        },
        indent=2,
    )


def item(link_id: str, outcome: str, external_id: str | None = "order-1") -> dict[str, object]:
    return {
        "id": link_id,
        "externalId": external_id,
        "amount": "10.00",
        "currency": "MXN",
        "expiresAt": "2026-01-10T10:30:00Z",
        "createdAt": "2026-01-09T10:30:00Z",
        "reasons": ["duplicate"],
        "outcome": outcome,
        "http_status": None,
        "attempts": 0,
        "message": None,
    }


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    return path


ACCEPTED = [
    pytest.param("m.csv", f"id\n{A}\n{B}\n", {A, B}, set(), id="csv-ids"),
    pytest.param(
        "m.csv",
        "externalId\norder-1\norder 2\n",
        set(),
        {"order-1", "order 2"},
        id="csv-external-ids",
    ),
    pytest.param(
        "m.csv",
        f"amount,id,externalId,note\n10,{A},order-1,x\n11,,order-2,\n",
        {A},
        {"order-2"},
        id="csv-both-columns-id-wins",
    ),
    pytest.param(
        "m.csv",
        f"\r\n id \r\n\r\n{A}\r\n,\r\n{B.upper()}\r\n",
        {A, B},
        set(),
        id="csv-crlf-blank-upper",
    ),
    pytest.param("m.csv", f'"id"\n"{A}"\n', {A}, set(), id="csv-quoted"),
    pytest.param("m.csv", b"\xef\xbb\xbfid\n" + A.encode() + b"\n", {A}, set(), id="csv-with-bom"),
    pytest.param("m.csv", "id,externalId\n", set(), set(), id="csv-header-only"),
    pytest.param(
        "m.jsonl",
        f'{{"id": "{A}"}}\n\n{{"externalId": "order-1"}}\n'
        f'{{"id": "{B}", "externalId": "order-2"}}\n'
        f'{{"id": null, "externalId": "order-3", "other": 1}}\n',
        {A, B},
        {"order-1", "order-3"},
        id="jsonl",
    ),
    pytest.param(
        "m.json",
        report(
            "dry-run",
            [
                item(A, "would_cancel"),
                item(B, "skipped_expired"),
                item(C.upper(), "would_cancel", None),
                item(uid(9), "not_found"),
            ],
        ),
        {A, C},
        set(),
        id="json-dry-run-report-would-cancel-only",
    ),
    pytest.param("m.JSON", report("dry-run", []), set(), set(), id="json-report-nothing-approved"),
]


@pytest.mark.parametrize(("name", "content", "ids", "external_ids"), ACCEPTED)
def test_load_manifest(
    tmp_path: Path, name: str, content: str | bytes, ids: set[str], external_ids: set[str]
) -> None:
    path = write(tmp_path, name, content)
    manifest = load_manifest(path)
    assert manifest.ids == ids
    assert manifest.external_ids == external_ids
    assert manifest.source == path
    assert manifest.ids_only is (not external_ids)


def test_manifest_describe_identifies_the_approved_file(tmp_path: Path) -> None:
    content = report("dry-run", [item(A, "would_cancel")])
    path = write(tmp_path, "approved.json", content)
    assert load_manifest(path).describe() == {
        "manifest": {
            "file": str(path),
            "sha256": hashlib.sha256(content.encode()).hexdigest(),
            "ids": 1,
            "external_ids": 0,
        }
    }


INJECTION_IDS = [
    "../x",
    "a/b",
    "%2e%2e",
    "..%2f..%2fadmin",
    f"{A}/cancel",
    f"{A}?x=1",
    f"{A}#frag",
    f"{{{A}}}",
    f"urn:uuid:{A}",
    A.replace("-", ""),
    f" {A}",
    f"{A} ",
    A[:8] + " " + A[9:],
    A[:-1] + "g",
    A[:-1],
    A + "0",
    A.replace("0", "\uff10"),  # full-width digits are digits to \d, not to [0-9]
]


@pytest.mark.parametrize("bad_id", INJECTION_IDS)
@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json"])
def test_every_non_uuid_id_is_refused_naming_file_and_place(
    tmp_path: Path, fmt: str, bad_id: str
) -> None:
    if fmt == "csv":
        content = f'id\n{A}\n"{bad_id}"\n'
        where = "line 3"
    elif fmt == "jsonl":
        content = f"{json.dumps({'id': A})}\n{json.dumps({'id': bad_id})}\n"
        where = "line 2"
    else:
        content = report("dry-run", [item(A, "would_cancel"), item(bad_id, "would_cancel")])
        where = "items[1]"
    path = write(tmp_path, f"m.{fmt}", content)
    with pytest.raises(PolicyInputError, match="not a UUID") as caught:
        load_manifest(path)
    assert str(caught.value).startswith(f"{path}, {where}: ")
    assert caught.value.where == where


REJECTED = [
    pytest.param(
        "m.csv", f"{A}\n{B}\n", "line 1", "no `id` or `externalId` column", id="csv-missing-header"
    ),
    pytest.param("m.csv", "", None, "no header row", id="csv-empty-file"),
    pytest.param(
        "m.csv", f"id,amount\n{A},1\n,2\n", "line 3", "no value for `id`", id="csv-empty-id"
    ),
    pytest.param(
        "m.csv",
        "id,externalId,n\n,,1\n",
        "line 2",
        "no value for `id` or `externalId`",
        id="csv-both-empty",
    ),
    pytest.param("m.csv", f"id,amount\n{A},1\n", None, None, id="csv-valid-control"),
    pytest.param(
        "m.csv", f"id,id\n{A},{A}\n", "line 1", "column `id` twice", id="csv-duplicate-column"
    ),
    pytest.param("m.csv", f'id\n"{A}"x\n', "line 2", "not valid CSV", id="csv-bad-quoting"),
    pytest.param(
        "m.csv", 'externalId\n"a\tb"\n', "line 2", "control characters", id="csv-control-char"
    ),
    pytest.param(
        "m.csv",
        f"externalId\n{'x' * 256}\n",
        "line 2",
        "longer than 255",
        id="csv-external-id-too-long",
    ),
    pytest.param(
        "m.csv", "externalId,n\n   ,1\n", "line 2", "blank", id="csv-whitespace-external-id"
    ),
    pytest.param("m.csv", f"id\n{A}\n\x00\n", "line 3", "NUL byte", id="nul-byte"),
    pytest.param("m.csv", b"id\n\xff\xfe\n", "line 2", "not UTF-8", id="not-utf8"),
    pytest.param("m.txt", f"id\n{A}\n", None, "unknown extension", id="unknown-extension"),
    pytest.param(
        "m.jsonl", f'{{"id": "{A}"}}\n[1]\n', "line 2", "not a JSON object", id="jsonl-not-object"
    ),
    pytest.param("m.jsonl", '{"id": \n', "line 1", "not valid JSON", id="jsonl-bad-json"),
    pytest.param("m.jsonl", '{"other": 1}\n', "line 1", "no value for", id="jsonl-no-key"),
    pytest.param(
        "m.jsonl", '{"id": "", "externalId": null}\n', "line 1", "no value for", id="jsonl-empty"
    ),
    pytest.param("m.jsonl", '{"id": 12}\n', "line 1", "not a UUID", id="jsonl-id-number"),
    pytest.param(
        "m.jsonl", '{"externalId": 12}\n', "line 1", "not a string", id="jsonl-external-id-number"
    ),
    pytest.param(
        "m.jsonl",
        f'{{"id": "{A}", "id": "{B}"}}\n',
        "line 1",
        "appears twice",
        id="jsonl-duplicate-key",
    ),
    pytest.param(
        "m.json",
        report("execute", [item(A, "cancelled")]),
        None,
        "only a dry-run report can be applied",
        id="execute-report",
    ),
    pytest.param(
        "m.json", json.dumps([{"id": A}]), None, "not a harmony-sweeper JSON report", id="json-list"
    ),
    pytest.param(
        "m.json",
        json.dumps({"mode": "fast", "items": []}),
        None,
        "unknown report mode",
        id="json-unknown-mode",
    ),
    pytest.param(
        "m.json",
        json.dumps({"mode": "dry-run", "items": {}}),
        None,
        "not a list",
        id="json-items-object",
    ),
    pytest.param(
        "m.json",
        report("dry-run", [item(A, "approved")]),
        "items[0]",
        "unknown outcome",
        id="json-unknown-outcome",
    ),
    pytest.param(
        "m.json",
        json.dumps({"mode": "dry-run", "items": [{"outcome": "would_cancel"}]}),
        "items[0]",
        "not a UUID",
        id="json-item-without-id",
    ),
    pytest.param(
        "m.json",
        '{"mode": "dry-run",\n "items": [,]}',
        "line 2",
        "not valid JSON",
        id="json-syntax",
    ),
    pytest.param("m.json", "[" * 100_000, None, "nested too deeply", id="json-deep-nesting"),
]


@pytest.mark.parametrize(("name", "content", "where", "message"), REJECTED)
def test_load_manifest_rejects(
    tmp_path: Path, name: str, content: str | bytes, where: str | None, message: str | None
) -> None:
    path = write(tmp_path, name, content)
    if message is None:  # the control row: the same shape, valid, loads
        assert load_manifest(path).ids == {A}
        return
    with pytest.raises(PolicyInputError, match=message) as caught:
        load_manifest(path)
    assert caught.value.path == path
    assert caught.value.where == where
    assert str(caught.value).startswith(str(path))


def test_a_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    with path.open("wb") as file:
        file.truncate(MAX_FILE_BYTES + 1)  # sparse: no real disk used
    with pytest.raises(PolicyInputError, match="larger than 64 MiB"):
        load_manifest(path)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PolicyInputError, match="cannot be read"):
        load_manifest(tmp_path / "absent.csv")


def test_a_directory_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    with pytest.raises(PolicyInputError, match="not a regular file"):
        load_manifest(folder)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(PolicyInputError, match="not a regular file"):
        load_exclusions(fifo)


EXCLUSIONS = [
    pytest.param(
        "x.csv",
        f"id,externalId\n{A},order-1\n,order-2\n{B.upper()},\n",
        {A, B},
        {"order-1", "order-2"},
        id="csv-both-read-broadly",
    ),
    pytest.param(
        "x.jsonl", f'{{"id": "{A}", "externalId": "order-1"}}\n', {A}, {"order-1"}, id="jsonl"
    ),
    pytest.param(
        "x.json",
        report("execute", [item(A, "cancelled"), item(B, "conflict"), item(C, "would_cancel")]),
        {A, B, C},
        set(),
        id="any-report-all-ids",
    ),
]


@pytest.mark.parametrize(("name", "content", "ids", "external_ids"), EXCLUSIONS)
def test_load_exclusions(
    tmp_path: Path, name: str, content: str, ids: set[str], external_ids: set[str]
) -> None:
    exclusions = load_exclusions(write(tmp_path, name, content))
    assert exclusions.ids == ids
    assert exclusions.external_ids == external_ids


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("x.csv", "id\n../etc/passwd\n", "not a UUID"),
        ("x.csv", "amount\n1\n", "no `id` or `externalId` column"),
        ("x.json", report("execute", [item("a/b", "cancelled")]), "not a UUID"),
    ],
)
def test_load_exclusions_rejects_like_manifests(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    with pytest.raises(PolicyInputError, match=message):
        load_exclusions(write(tmp_path, name, content))


@pytest.mark.parametrize(
    ("exclusions", "covered"),
    [
        (Exclusions(), False),
        (Exclusions(ids=frozenset({uid(1)})), True),
        (Exclusions(external_ids=frozenset({"order-1"})), True),
        (Exclusions(ids=frozenset({uid(2)}), external_ids=frozenset({"order-2"})), False),
    ],
)
def test_exclusions_cover_by_id_or_external_id(exclusions: Exclusions, *, covered: bool) -> None:
    assert exclusions.covers(make_link(1, external_id="order-1")) is covered


def test_exclusions_never_match_a_null_external_id() -> None:
    assert not Exclusions(external_ids=frozenset({"order-1"})).covers(make_link(1))


def test_manifest_and_exclusions_from_one_report_agree(tmp_path: Path) -> None:
    """The approval workflow: a dry-run report applied later as a manifest."""
    path = write(
        tmp_path,
        "approved.json",
        report("dry-run", [item(A, "would_cancel"), item(B, "skipped_expired")]),
    )
    assert load_manifest(path) == Manifest(
        ids=frozenset({A}), source=path, sha256=hashlib.sha256(path.read_bytes()).hexdigest()
    )
    assert load_exclusions(path).ids == {A, B}


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([(A, "would_cancel"), (B, "skipped_expired"), (C, "not_found")], {A}),
        ([(A, "would_cancel"), (B, "would_cancel")], {A, B}),
        ([(A, "conflict")], set()),
    ],
    ids=["only-would-cancel", "all-approved", "none-approved"],
)
def test_a_csv_dry_run_report_applies_its_would_cancel_rows(
    tmp_path: Path, rows: list[tuple[str, str]], expected: set[str]
) -> None:
    path = tmp_path / "plan.csv"
    lines = ["id,externalId,amount,outcome", *(f"{i},order,10.00,{o}" for i, o in rows)]
    path.write_text("\n".join(lines) + "\n")

    assert load_manifest(path).ids == frozenset(expected)
    # As an exclude file, every row counts: it protects, so it never protects less.
    assert load_exclusions(path).ids == frozenset(i for i, _ in rows)


def test_a_csv_report_of_a_run_that_cancelled_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "done.csv"
    path.write_text(f"id,outcome\n{A},would_cancel\n{B},cancelled\n")

    with pytest.raises(PolicyInputError, match=r"done\.csv, line 3: .*run that cancelled"):
        load_manifest(path)
