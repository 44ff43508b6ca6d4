"""Who a budget counts (SPEC §8): an IPv4 address, an IPv6 /64, an email whatever its case."""

from __future__ import annotations

import ipaddress
import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from fastwrap.domain.model import RateLimit
from fastwrap.domain.rate_limits import RateCheck, ip_owner, login_owner

ONE_A_MINUTE = RateLimit(count=1, period=60)
SUFFIXES = st.integers(min_value=0, max_value=2**64 - 1)


def not_mapped(ip: ipaddress.IPv6Address) -> bool:
    return ip.ipv4_mapped is None


@given(st.ip_addresses(v=6).filter(not_mapped), SUFFIXES)
def test_every_address_of_a_64_shares_its_budget(ip: ipaddress.IPv6Address, suffix: int) -> None:
    neighbour = ipaddress.IPv6Address((int(ip) >> 64 << 64) | suffix)
    assume(not_mapped(neighbour))

    assert ip_owner(str(neighbour)) == ip_owner(str(ip))
    assert ip_owner(neighbour.exploded) == ip_owner(ip.compressed)  # however it is written


@given(st.ip_addresses(v=6).filter(not_mapped), st.ip_addresses(v=6).filter(not_mapped))
def test_two_64s_never_share_a_budget(a: ipaddress.IPv6Address, b: ipaddress.IPv6Address) -> None:
    same_64 = int(a) >> 64 == int(b) >> 64
    assert (ip_owner(str(a)) == ip_owner(str(b))) is same_64


@given(st.ip_addresses(v=4), st.ip_addresses(v=4))
def test_each_ipv4_address_has_its_own_budget(
    a: ipaddress.IPv4Address, b: ipaddress.IPv4Address
) -> None:
    assert (ip_owner(str(a)) == ip_owner(str(b))) is (a == b)


@given(st.ip_addresses(v=4))
def test_an_ipv4_mapped_address_counts_as_its_ipv4_address(ip: ipaddress.IPv4Address) -> None:
    assert ip_owner(f"::ffff:{ip}") == ip_owner(str(ip))


@given(st.one_of(st.ip_addresses().map(str), st.text(max_size=300)))
def test_any_peer_gives_an_owner_safe_in_a_key(peer: str) -> None:
    owner = ip_owner(peer)
    assert re.fullmatch(r"ip:[0-9a-f.:]+(/64)?|ip:h[0-9a-f]{32}", owner)
    RateCheck(owner, "all", ONE_A_MINUTE)  # would refuse braces, spaces, control characters


def test_an_address_that_is_not_one_is_counted_as_itself() -> None:
    assert ip_owner("unknown") == ip_owner("unknown")
    assert ip_owner("unknown") != ip_owner("proxy.example")


@given(st.emails())
def test_failed_logins_count_per_email_whatever_its_case(email: str) -> None:
    owner = login_owner(email)
    assert login_owner(email.upper()) == owner == login_owner(f"  {email.swapcase()} ")
    assert email.lower() not in owner  # a limiter key never shows the address


def test_different_emails_have_different_budgets() -> None:
    assert login_owner("alice@example.com") != login_owner("alice@example.org")


@pytest.mark.parametrize("owner", ["", "a{b}", "a b", "x" * 129, "é"])
def test_an_unsafe_owner_is_refused(owner: str) -> None:
    with pytest.raises(ValueError, match="unsafe characters"):
        RateCheck(owner, "all", ONE_A_MINUTE)
