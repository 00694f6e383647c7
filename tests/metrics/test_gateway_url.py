"""The Pushgateway URL: what may be logged of it, and what is refused before any push."""

from __future__ import annotations

import pytest

from worker.errors import ConfigError
from worker.ops.metrics import gateway_origin

PRIVATE = "s3cret"


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("http://pushgateway:9091", "http://pushgateway:9091"),
        ("pushgateway.monitoring.svc:9091", "http://pushgateway.monitoring.svc:9091"),
        ("https://metrics.example.com", "https://metrics.example.com:443"),
        ("HTTP://Push.Example:80/", "http://push.example:80"),
        (f"http://10.0.0.7:9091/{PRIVATE}/prefix/", "http://10.0.0.7:9091"),
        ("http://[::1]:9091/pushgateway", "http://[::1]:9091"),
    ],
)
def test_the_origin_is_scheme_host_and_port(url: str, origin: str) -> None:
    assert gateway_origin(url) == origin


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        (f"ftp://pushgateway/{PRIVATE}", "scheme 'ftp' is not http or https"),
        (f"http:///{PRIVATE}", "no host"),
        (f"http://pushgateway:port/{PRIVATE}", "the port is not valid"),
        (f"http://user:{PRIVATE}@pushgateway:9091", "credentials in the URL are not supported"),
        (f"http://pushgateway:9091/?token={PRIVATE}", "a query or fragment is not supported"),
        (f"http://pushgateway:9091/#{PRIVATE}", "a query or fragment is not supported"),
        (f"http://pushgateway:9091/{PRIVATE} prefix", "spaces or control characters"),
        (f"http://pushgateway:9091/{PRIVATE}\n", "spaces or control characters"),
    ],
)
def test_an_unusable_url_is_a_config_error_that_quotes_no_more_than_the_origin(
    url: str, problem: str
) -> None:
    with pytest.raises(ConfigError, match=problem) as raised:
        gateway_origin(url)

    assert PRIVATE not in str(raised.value)
