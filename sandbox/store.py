"""The sandbox's state: organizations and links in SQLite, pages served from the index.

Every method runs synchronously on the event loop's thread and never awaits, so each one is
atomic with respect to every request: that, plus the compare-and-set `UPDATE ... WHERE
status = 'PENDING'`, is how a cancel and a customer payment of one link have exactly one
winner, as the platform's database locks promise.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import json
import operator
import os
import random
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from sandbox.index import PositionalIndex, sort_key
from sandbox.records import CANCELLED, CONFIRMED, PENDING, LinkRow, Org, StoredLink
from sandbox.shapes import CANCELLED_SQL, FULL_SQL

_BILLING_CACHE = 100_000  # billing texts whose row number is remembered (a seed has 2,000)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS orgs (
    no INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    api_key TEXT NOT NULL UNIQUE
);
-- Billing details are shared: seeded links draw from a pool of customers, which keeps a
-- 1,000,000-link database a few hundred megabytes instead of a gigabyte.
CREATE TABLE IF NOT EXISTS billing (
    no INTEGER PRIMARY KEY,
    json TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS links (
    id TEXT PRIMARY KEY,
    org_no INTEGER NOT NULL REFERENCES orgs(no),
    status TEXT NOT NULL,
    external_id TEXT,
    amount TEXT NOT NULL,
    amount_is_text INTEGER NOT NULL,
    currency TEXT NOT NULL,
    description TEXT NOT NULL,
    redirect_url TEXT NOT NULL,
    homepage_url TEXT NOT NULL,
    billing_no INTEGER REFERENCES billing(no),
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL
) WITHOUT ROWID;
"""
_LINK_COLUMNS = (
    "links.id, org_no, status, external_id, amount, amount_is_text, currency, description, "
    "redirect_url, homepage_url, billing.json, created_ms, updated_ms, expires_ms"
)
# Queries are built from these constants only; values always go in as parameters.
_FROM = "FROM links LEFT JOIN billing ON billing.no = billing_no"
_SELECT_LINKS = f"SELECT {_LINK_COLUMNS} {_FROM}"
_ORDER_INDEX = "CREATE INDEX IF NOT EXISTS links_by_order ON links (org_no, external_id)"
_PENDING_SIBLINGS = (
    "SELECT id FROM links WHERE org_no = ? AND external_id = ? AND status = ? AND expires_ms > ?"
    " ORDER BY id"
)


class StoreError(ValueError):
    """A write the store refuses: a duplicate id or API key, an unknown organization."""


class Transition(enum.Enum):
    """Result of a compare-and-set from PENDING."""

    APPLIED = "applied"
    NOT_FOUND = "not_found"
    ALREADY_CANCELLED = "already_cancelled"
    ALREADY_CONFIRMED = "already_confirmed"
    EXPIRED = "expired"


class Store:
    """SQLite (in memory, or a file that survives restarts) plus the positional index."""

    def __init__(self, db: str | os.PathLike[str] | None = None) -> None:
        self._db = sqlite3.connect(":memory:" if db is None else os.fspath(db))
        self._db.isolation_level = None  # autocommit; bulk writes open their own transaction
        if db is not None:
            # WAL with NORMAL sync: durable enough for a sandbox, and a cancel costs no fsync.
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.executescript(_SCHEMA)
        self._index = PositionalIndex()
        self._orgs_by_key: dict[str, Org] = {}
        self._orgs_by_no: dict[int, Org] = {}
        self._deferred: list[tuple[int, str, str, int]] = []
        self._billing_nos_by_text: dict[str, int] = {}
        self._order_indexed = False
        self._load()

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def _load(self) -> None:
        self._orgs_by_key.clear()
        self._orgs_by_no.clear()
        for row in self._db.execute("SELECT no, id, name, api_key FROM orgs ORDER BY no"):
            org = Org(*row)
            self._orgs_by_key[org.api_key] = org
            self._orgs_by_no[org.no] = org
        self._index.clear()
        rows = self._db.execute("SELECT org_no, status, currency, created_ms, id FROM links")
        self._index.add_many((o, s, c, sort_key(ms, i)) for o, s, c, ms, i in rows)

    # Organizations

    def orgs(self) -> list[Org]:
        """Every organization, first created first."""
        return [self._orgs_by_no[no] for no in sorted(self._orgs_by_no)]

    def org_by_key(self, api_key: str | None) -> Org | None:
        """The organization an API key reaches, if any."""
        return None if api_key is None else self._orgs_by_key.get(api_key)

    def org_by_no(self, org_no: int) -> Org:
        """The organization a stored link belongs to."""
        return self._orgs_by_no[org_no]

    def org_by_id(self, org_id: str) -> Org | None:
        """The organization with this id, if any."""
        return next((org for org in self._orgs_by_no.values() if org.id == org_id), None)

    def create_org(self, name: str, api_key: str) -> Org:
        """A new organization; its key must be unused."""
        if api_key in self._orgs_by_key:
            raise StoreError("that API key is already in use by another organization")
        org_id = str(uuid.uuid4())
        cursor = self._db.execute(
            "INSERT INTO orgs (id, name, api_key) VALUES (?, ?, ?)", (org_id, name, api_key)
        )
        assert cursor.lastrowid is not None  # noqa: S101 - sqlite always sets it on INSERT
        org = Org(cursor.lastrowid, org_id, name, api_key)
        self._orgs_by_key[api_key] = org
        self._orgs_by_no[org.no] = org
        return org

    def set_api_key(self, org: Org, api_key: str) -> Org:
        """Give `org` a new key (the old one stops working at once)."""
        if api_key == org.api_key:
            return org
        if api_key in self._orgs_by_key:
            raise StoreError("that API key is already in use by another organization")
        self._db.execute("UPDATE orgs SET api_key = ? WHERE no = ?", (api_key, org.no))
        updated = dataclasses.replace(org, api_key=api_key)
        del self._orgs_by_key[org.api_key]
        self._orgs_by_key[api_key] = updated
        self._orgs_by_no[org.no] = updated
        return updated

    # Links

    def insert_links(self, links: Sequence[StoredLink]) -> None:
        """Insert new links in one transaction; a duplicate id rejects the whole batch."""
        nos: dict[int, int | None] = {}  # links may share one billing dict: look it up once
        rows = []
        for link in links:
            if id(link.billing) not in nos:
                nos[id(link.billing)] = self.billing_no(link.billing)
            rows.append(
                LinkRow(
                    link.id,
                    link.org_no,
                    link.status,
                    link.external_id,
                    link.amount,
                    link.amount_is_text,
                    link.currency,
                    link.description,
                    link.redirect_url,
                    link.homepage_url,
                    nos[id(link.billing)],
                    link.created_ms,
                    link.updated_ms,
                    link.expires_ms,
                )
            )
        self.insert_rows(rows)

    def insert_rows(self, rows: Sequence[LinkRow], *, index: bool = True) -> None:
        """Insert table rows in one transaction; a duplicate id rejects the whole batch.

        `index=False` defers the positional index until `flush_index()`: only for bulk loads
        that nobody can observe (seeding before the server listens).
        """
        if {row.org_no for row in rows} - set(self._orgs_by_no):
            raise StoreError("links name an organization that does not exist")
        self._db.execute("BEGIN")
        try:
            self._db.executemany(
                "INSERT INTO links VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                # In id order: B-tree inserts with locality cost about a third less.
                sorted(rows, key=operator.itemgetter(0)),
            )
        except sqlite3.IntegrityError as exc:
            self._db.execute("ROLLBACK")
            raise StoreError("a link with one of these ids already exists") from exc
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        entries = [(r.org_no, r.status, r.currency, sort_key(r.created_ms, r.id)) for r in rows]
        if index:
            self._index.add_many(entries)
        else:
            self._deferred.extend(entries)

    def billing_no(self, billing: dict[str, Any] | None) -> int | None:
        """The row number of these billing details, stored on first sight (None for None)."""
        if billing is None:
            return None
        text = json.dumps(billing, ensure_ascii=False)
        known = self._billing_nos_by_text
        if text not in known:
            if len(known) > _BILLING_CACHE:
                known.clear()
            self._db.execute("INSERT OR IGNORE INTO billing (json) VALUES (?)", (text,))
            row = self._db.execute("SELECT no FROM billing WHERE json = ?", (text,)).fetchone()
            known[text] = row[0]
        return known[text]

    def flush_index(self) -> None:
        """Index the links inserted with `index=False`, in one bulk sort."""
        deferred, self._deferred = self._deferred, []
        self._index.add_many(deferred)

    def get(self, link_id: str) -> StoredLink | None:
        """The link with this canonical id, in any organization."""
        row = self._db.execute(f"{_SELECT_LINKS} WHERE links.id = ?", (link_id,)).fetchone()
        return None if row is None else _link(row)

    def total(self) -> int:
        """How many links every organization holds together."""
        return sum(self._index.count(no) for no in self._orgs_by_no)

    def count(self, org: Org, status: str | None = None, currency: str | None = None) -> int:
        """How many of `org`'s links match the filters."""
        return self._index.count(org.no, status, currency)

    def page_json(
        self,
        org: Org,
        status: str | None,
        currency: str | None,
        offset: int,
        limit: int,
        *,
        order: str = "newest_first",
        rng: random.Random | None = None,
    ) -> list[str]:
        """JSON of `limit` links of `org` from position `offset` in `order` (see the index).

        Without `order`: newest createdAt, then id. `rng` makes ties unstable.
        """
        ids = self._index.page(org.no, status, currency, offset, limit, order=order, rng=rng)
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        query = f"SELECT links.id, {FULL_SQL} {_FROM} WHERE links.id IN ({marks})"
        by_id = dict(self._db.execute(query, ids).fetchall())
        return [by_id[link_id] for link_id in ids]

    def live_page_json(
        self,
        org: Org,
        status: str | None,
        currency: str | None,
        offset: int,
        limit: int,
        *,
        now_ms: int,
        order: str = "newest_first",
        rng: random.Random | None = None,
    ) -> tuple[list[str], int]:
        """As ``page_json``, leaving out PENDING links past expiresAt; and how many remain.

        O(n) in the view per call (the index does not know expiry): for tests.
        """
        view = self._index.page(
            org.no, status, currency, 0, self.count(org, status, currency), order=order, rng=rng
        )
        expired = {
            row[0]
            for row in self._db.execute(
                "SELECT id FROM links WHERE org_no = ? AND status = 'PENDING' AND expires_ms <= ?",
                (org.no, now_ms),
            )
        }
        ids = [link_id for link_id in view if link_id not in expired]
        window = ids[offset : offset + limit]
        if not window:
            return [], len(ids)
        marks = ",".join("?" * len(window))
        query = f"SELECT links.id, {FULL_SQL} {_FROM} WHERE links.id IN ({marks})"
        by_id = dict(self._db.execute(query, window).fetchall())
        return [by_id[link_id] for link_id in window], len(ids)

    def iter_json(self, org: Org, status: str | None = None) -> Iterator[str]:
        """JSON of every link of `org` (optionally of one status), in list order."""
        offset, chunk = 0, 500
        while batch := self.page_json(org, status, None, offset, chunk):
            yield from batch
            offset += chunk

    def link_json(self, link_id: str, *, cancelled_shape: bool = False) -> str | None:
        """JSON of one link: the full payment object, or the cancel response's subset."""
        shape = CANCELLED_SQL if cancelled_shape else FULL_SQL
        query = f"SELECT {shape} {_FROM} WHERE links.id = ?"
        row = self._db.execute(query, (link_id,)).fetchone()
        return None if row is None else str(row[0])

    def transition(
        self, link_id: str, to: str, now_ms: int, *, org: Org | None = None
    ) -> tuple[Transition, StoredLink | None]:
        """Compare-and-set a PENDING, unexpired link to `to`; `org` limits whose link it may be.

        Returns the outcome and the link as it is afterwards (None when not found).
        """
        link = self.get(link_id)
        if link is None or (org is not None and link.org_no != org.no):
            return Transition.NOT_FOUND, None
        if link.status == CANCELLED:
            return Transition.ALREADY_CANCELLED, link
        if link.status == CONFIRMED:
            return Transition.ALREADY_CONFIRMED, link
        if now_ms >= link.expires_ms:
            return Transition.EXPIRED, link
        updated_ms = now_ms - now_ms % 1000  # the API writes whole seconds
        cursor = self._db.execute(
            "UPDATE links SET status = ?, updated_ms = ? "
            "WHERE id = ? AND status = ? AND expires_ms > ?",
            (to, updated_ms, link_id, PENDING, now_ms),
        )
        if cursor.rowcount != 1:
            # Someone else won between the read and the write (impossible while store methods
            # never await, but cheap to honour): re-read and report what they did.
            return self.transition(link_id, to, now_ms, org=org)
        key = sort_key(link.created_ms, link.id)
        self._index.move(link.org_no, link.currency, key, PENDING, to)
        return Transition.APPLIED, dataclasses.replace(link, status=to, updated_ms=updated_ms)

    def random_pending(self, rng: random.Random) -> str | None:
        """A PENDING link chosen uniformly across every organization (expired ones included)."""
        weights = [self._index.count(no, PENDING) for no in self._orgs_by_no]
        total = sum(weights)
        if total == 0:
            return None
        (org_no,) = rng.choices(list(self._orgs_by_no), weights=weights)
        return self._index.random_id(org_no, PENDING, rng)

    def random_paid_sibling(self, rng: random.Random, now_ms: int, *, picks: int) -> str | None:
        """A PENDING, unexpired link sharing its externalId with a CONFIRMED link of its org.

        Looks at up to `picks` CONFIRMED links chosen uniformly (in every organization) and
        returns one of the first one's siblings that has any; None if none had. The first
        call adds an index on (organization, externalId): built once, in a second or two
        for a million links, rather than slowing every seeding for a knob few runs use.
        """
        if not self._order_indexed:
            self._db.execute(_ORDER_INDEX)
            self._order_indexed = True
        nos = list(self._orgs_by_no)
        weights = [self._index.count(no, CONFIRMED) for no in nos]
        if sum(weights) == 0:
            return None
        for _ in range(picks):
            (org_no,) = rng.choices(nos, weights=weights)
            paid_id = self._index.random_id(org_no, CONFIRMED, rng)
            row = self._db.execute("SELECT external_id FROM links WHERE id = ?", (paid_id,))
            (external_id,) = row.fetchone()
            if not external_id:
                continue
            siblings = self._db.execute(_PENDING_SIBLINGS, (org_no, external_id, PENDING, now_ms))
            ids: list[str] = [sibling_id for (sibling_id,) in siblings]
            if ids:
                return ids[rng.randrange(len(ids))]
        return None

    def reset(self) -> None:
        """Delete every link and every organization but the first."""
        self._db.execute("BEGIN")
        self._db.execute("DELETE FROM links")
        self._db.execute("DELETE FROM billing")
        self._db.execute("DELETE FROM orgs WHERE no > (SELECT MIN(no) FROM orgs)")
        self._db.execute("COMMIT")
        self._billing_nos_by_text.clear()
        self._load()


@functools.lru_cache(maxsize=16384)
def _parse_billing(text: str) -> dict[str, Any]:
    # Shared between links (they share customers), so callers must treat it as read-only.
    parsed: dict[str, Any] = json.loads(text)
    return parsed


def _link(row: tuple[Any, ...]) -> StoredLink:
    (link_id, org_no, status, external_id, amount, amount_is_text, currency, description,
     redirect_url, homepage_url, billing, created_ms, updated_ms, expires_ms) = row  # fmt: skip
    return StoredLink(
        link_id,
        org_no,
        status,
        external_id,
        amount,
        bool(amount_is_text),
        currency,
        description,
        redirect_url,
        homepage_url,
        None if billing is None else _parse_billing(billing),
        created_ms,
        updated_ms,
        expires_ms,
    )
