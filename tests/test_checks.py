"""edgebind.checks: the one place that decides what a number and a listen address are."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from edgebind.checks import in_range, is_finite_number, isfinite, split_host_port


def test_numbers_from_files():
    assert isfinite(1.5) and not isfinite(float("nan")) and not isfinite(10**400)
    assert is_finite_number(3) and not is_finite_number(True) and not is_finite_number("3")
    assert in_range(0.5, 0, 1) and not in_range(1.5, 0, 1) and not in_range(10**400, 0, 1e999)


@pytest.mark.parametrize("value, want", [
    ("127.0.0.1:9108", ("127.0.0.1", 9108)),
    ("[::1]:7700", ("::1", 7700)),
    ("localhost:0", ("localhost", 0)),
    ("host:65535", ("host", 65535)),
])
def test_listen_addresses(value, want):
    assert split_host_port(value) == want


@pytest.mark.parametrize("value", ["9108", ":9108", "host:", "host:65536", "host:-1", "host:8o",
                                   "[]:80", 9108, None, "host:١٢"])
def test_what_is_not_a_listen_address(value):
    assert split_host_port(value) is None


@given(st.text(max_size=40))
def test_any_text_is_an_address_or_none(text):
    got = split_host_port(text)
    if got is not None:
        port = text.rpartition(":")[2]
        assert got[0] and port.isascii() and int(port) == got[1] <= 65535
