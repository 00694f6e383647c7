from __future__ import annotations

import pytest

from tests.settings.conftest import ENV, config_error
from worker.settings import load_settings


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.harmony.compago.com", "https://api.harmony.compago.com"),
        ("https://api.harmony.compago.com/", "https://api.harmony.compago.com"),
        ("HTTPS://Demo.API.Harmony.Compago.com:8443/", "https://demo.api.harmony.compago.com:8443"),
        ("https://10.1.2.3", "https://10.1.2.3"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://127.5.6.7", "http://127.5.6.7"),
        ("http://[::1]:9000/", "http://[::1]:9000"),
        ("http://localhost:1234", "http://localhost:1234"),
        ("http://LOCALHOST", "http://localhost"),
        # What `harmony-sweeper sandbox` prints: the API's own /api prefix is dropped.
        ("http://127.0.0.1:8080/api", "http://127.0.0.1:8080"),
        ("https://api.harmony.compago.com/api/", "https://api.harmony.compago.com"),
    ],
)
def test_accepted_and_normalised(url: str, expected: str) -> None:
    assert load_settings(environ=ENV, base_url=url).base_url == expected


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://api.harmony.compago.com", "must use https"),
        ("http://10.0.0.1", "must use https"),
        ("http://[::ffff:127.0.0.1]", "must use https"),
        ("http://localhost.example.com", "must use https"),
        ("http://128.0.0.1", "must use https"),
        ("https://user:secret@api.harmony.compago.com", "must not carry credentials"),
        ("api.harmony.compago.com", "must be scheme, host and optional port only"),
        ("ftp://api.harmony.compago.com", "must be scheme, host and optional port only"),
        ("https://", "must be scheme, host and optional port only"),
        ("https://api.harmony.compago.com/api/v1", "must be scheme, host and optional port only"),
        ("https://api.harmony.compago.com/v1", "must be scheme, host and optional port only"),
        ("https://api.harmony.compago.com?x=1", "must be scheme, host and optional port only"),
        ("https://api.harmony.compago.com/?", "must be scheme, host and optional port only"),
        ("https://api.harmony.compago.com#top", "must be scheme, host and optional port only"),
        ("https://api.harmony.compago.com:99999", "must be scheme, host and optional port only"),
        ("https://exa mple.com", "must be scheme, host and optional port only"),
        (" https://api.harmony.compago.com", "must be scheme, host and optional port only"),
        ("https://[::1", "must be scheme, host and optional port only"),
        ("https://%%%", "must be scheme, host and optional port only"),
        ("https://-bad-.com", "must be scheme, host and optional port only"),
        ("", "must be scheme, host and optional port only"),
    ],
)
def test_rejected_with_a_message_naming_the_input(url: str, problem: str) -> None:
    message = config_error(environ=ENV, base_url=url)
    assert message.startswith("--base-url: ")
    assert problem in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("url", "environment"),
    [
        ("https://api.harmony.compago.com", "production"),
        ("https://demo.api.harmony.compago.com", "demo"),
        ("http://127.0.0.1:8080/api", "sandbox"),
        ("http://localhost:1234", "sandbox"),
        ("https://harmony.internal.example.com", "other"),
    ],
)
def test_the_environment_a_report_names(url: str, environment: str) -> None:
    assert load_settings(environ=ENV, base_url=url).api_environment() == environment
