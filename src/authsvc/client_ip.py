"""Where a request came from, believing `X-Forwarded-*` only from our own proxies."""

from __future__ import annotations

import ipaddress

from fastapi import Request

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class ClientAddressResolver:
    def __init__(self, trusted_proxies: list[str]) -> None:
        self._trusted: list[IPNetwork] = [
            ipaddress.ip_network(proxy, strict=False) for proxy in trusted_proxies
        ]

    def _is_trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self._trusted)

    def is_https(self, request: Request) -> bool:
        """Whether the client reached us over HTTPS: directly, or as a trusted proxy says."""
        if request.scope.get("scheme") == "https":
            return True
        peer = request.client.host if request.client else None
        if peer is None or not self._trusted or not self._is_trusted(peer):
            return False
        # The nearest proxy's word counts; it appends its own value last.
        forwarded = request.headers.get("x-forwarded-proto", "")
        return forwarded.rsplit(",", 1)[-1].strip().lower() == "https"

    def resolve(self, request: Request) -> str | None:
        peer = request.client.host if request.client else None
        if peer is None or not self._trusted or not self._is_trusted(peer):
            return peer
        # Walk the chain from the nearest hop outwards; the first address that is not one of
        # our proxies is the client. Anything further left was written by the client itself.
        hops = [
            hop.strip()
            for header in request.headers.getlist("x-forwarded-for")
            for hop in header.split(",")
        ]
        for hop in reversed(hops):
            if not hop:
                continue
            if not self._is_trusted(hop):
                try:
                    return str(ipaddress.ip_address(hop))
                except ValueError:
                    return peer  # a garbled header from a trusted proxy: fall back to the peer
        return peer
