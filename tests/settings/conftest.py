from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from worker.errors import ConfigError
from worker.settings import load_settings

KEY = "test-key-0001"
ENV = {"HARMONY_API_KEY": KEY}

WriteConfig = Callable[[str], Path]


@pytest.fixture
def write_config(tmp_path: Path) -> WriteConfig:
    """Write a TOML file under tmp_path and return its path."""

    def write(text: str) -> Path:
        path = tmp_path / "config.toml"
        path.write_text(text, encoding="utf-8")
        return path

    return write


def config_error(**kwargs: object) -> str:
    """The message of the ConfigError that ``load_settings(**kwargs)`` raises."""
    with pytest.raises(ConfigError) as info:
        load_settings(**kwargs)  # type: ignore[arg-type]
    return str(info.value)
