"""The client's address: the connection's, or the one a trusted proxy reports (`TRUSTED_PROXIES`).

Behind a TLS-terminating proxy every connection comes from the proxy, so the connection's
address (`REMOTE_ADDR`) names the proxy, not the client. The proxy appends the address it saw to
`X-Forwarded-For`, but anyone can send that header too, so it is believed only when the
connection itself comes from a trusted proxy:

1. `REMOTE_ADDR` outside every `TRUSTED_PROXIES` network: it is the client (whatever
   `X-Forwarded-For` says).
2. Otherwise `X-Forwarded-For` is walked from the right (the entry the nearest proxy appended)
   skipping trusted addresses (a chain of our own proxies); the first untrusted one is the
   client. Every entry being trusted: the leftmost (as nginx's `real_ip_recursive` does).
3. An entry that is not an IP address (a port, an obfuscated name, garbage): the header cannot
   be believed, the connection's address is used.

IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`, a dual-stack listener) count as their IPv4
address. A proxy connecting over a Unix socket has no `REMOTE_ADDR` to trust: it must connect
over TCP.

One home: `client_address(request)` computes it once per request (`RequestIdMiddleware` calls it
first, it is kept as `request.client_address`) and everything that keys on an address uses it:
the admin login lockout (django-axes' `AXES_CLIENT_IP_CALLABLE`), the rate limit's `get_ident`
(crm/api/throttling.py) and the access log line. `parse_networks` is also the start-up check of
the setting (crm/access/settings_checks.py). Why not django-ipware: its trusted proxies are
string prefixes, not networks, and it reads several headers (`X-Real-IP`, `Forwarded`, …) that a
client could send; this is the 15 lines nginx's `set_real_ip_from` does, with `ipaddress`.
"""

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

FORWARDED_FOR = "HTTP_X_FORWARDED_FOR"


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """`TRUSTED_PROXIES` entries as networks: CIDRs (`10.0.0.0/8`, `fd00::/8`) or single
    addresses. Raises ValueError naming the first entry that is neither, or that has host bits
    set (`10.0.0.5/8` is refused rather than guessed: did it mean one host or the network?)."""
    networks = []
    for value in values:
        entry = value.strip()
        try:
            networks.append(ipaddress.ip_network(entry, strict=True))
        except ValueError as exc:
            raise ValueError(f"{entry!r} is not a network in CIDR notation: {exc}") from None
    return tuple(networks)


@lru_cache(maxsize=4)
def _trusted(values: tuple[str, ...]) -> tuple[Network, ...]:
    return parse_networks(values)


def _address(text: str) -> Address | None:
    """The IP address `text` names (IPv4-mapped IPv6 as IPv4), None when it names none."""
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_trusted(address: Address, networks: tuple[Network, ...]) -> bool:
    return any(address in network for network in networks)


def resolve(meta: dict, trusted_proxies: Iterable[str]) -> str | None:
    """The client's address from a WSGI environ (`request.META`); None when the connection has
    no IP address (a Unix socket)."""
    connection = _address(meta.get("REMOTE_ADDR") or "")
    if connection is None:
        return None
    networks = _trusted(tuple(trusted_proxies))
    forwarded = meta.get(FORWARDED_FOR)
    if not networks or not forwarded or not _is_trusted(connection, networks):
        return str(connection)
    client = connection
    for entry in reversed(forwarded.split(",")):
        address = _address(entry)
        if address is None:
            return str(connection)
        client = address
        if not _is_trusted(address, networks):
            break
    return str(client)


def client_address(request: HttpRequest) -> str | None:
    """The request's client address, computed on first use and kept on the request. Takes a
    Django `HttpRequest` or anything that passes attributes through to one (DRF's `Request`).
    It is also django-axes' `AXES_CLIENT_IP_CALLABLE`."""
    try:
        return request.client_address
    except AttributeError:
        pass
    address = resolve(request.META, settings.TRUSTED_PROXIES)
    request.client_address = address
    return address
