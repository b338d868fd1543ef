"""The address a request came from, the one answer every throttle and log line uses.

Behind reverse proxies REMOTE_ADDR is the nearest proxy's. Only the proxies we run may be
believed: with TRUSTED_PROXY_COUNT = n, each of them appended one entry to X-Forwarded-For, so
the client is the n-th entry from the right; whatever stands left of it the client wrote
itself. With 0 (the default) the header is ignored, so a client cannot pick its own address.
"""

import ipaddress

from django.conf import settings


def _address(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def client_address(request) -> str | None:
    """The client's IP address, or None when the request carries none (a test's bare request)."""
    remote = request.META.get("REMOTE_ADDR")
    count = settings.TRUSTED_PROXY_COUNT
    if count:
        forwarded = [
            part for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part
        ]
        # Fewer entries than proxies: the request did not come through all of them, so the
        # header says nothing we can trust.
        if len(forwarded) >= count and (found := _address(forwarded[-count])) is not None:
            return found
    return _address(remote) if remote else None
