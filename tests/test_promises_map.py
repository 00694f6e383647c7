"""docs/promises.md maps each README promise to its tests: every test it names must exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROMISES = ROOT / "docs" / "promises.md"
# `sweep/test_x.py` or `sweep/test_x.py::test_name`, paths under tests/.
_REFERENCE = re.compile(r"`((?:[a-z_]+/)*test_[a-z0-9_]+\.py)(?:::([A-Za-z0-9_]+))?`")


def test_every_test_the_promises_map_names_exists() -> None:
    text = PROMISES.read_text(encoding="utf-8")
    references = _REFERENCE.findall(text)
    assert len(references) > 50, "the map should name the tests of every promise"
    missing = []
    for path, name in references:
        source = ROOT / "tests" / path
        if not source.is_file():
            missing.append(path)
        elif name and not re.search(rf"def {name}\b", source.read_text(encoding="utf-8")):
            missing.append(f"{path}::{name}")
    assert not missing, f"docs/promises.md names tests that do not exist: {missing}"


def test_the_readme_points_at_the_promises_map() -> None:
    assert "docs/promises.md" in (ROOT / "README.md").read_text(encoding="utf-8")
