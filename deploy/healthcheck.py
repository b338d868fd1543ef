"""The container's HEALTHCHECK: exit 0 when kpitrack's /healthz/ answers 200 on this machine.
Standard library only, so the image needs no curl.

The request names a host kpitrack accepts (the first of ALLOWED_HOSTS) and says it came over
HTTPS, as the proxy's requests do, so neither the host check nor an HTTPS redirect answers it
instead of kpitrack."""

import os
import sys
import urllib.error
import urllib.request


def host() -> str:
    names = [n.strip() for n in os.environ.get("ALLOWED_HOSTS", "").split(",") if n.strip()]
    first = names[0] if names else "localhost"
    return "localhost" if first == "*" else first.lstrip(".")


def main() -> int:
    port = os.environ.get("PORT", "8000")
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/healthz/",
        headers={"Host": host(), "X-Forwarded-Proto": "https"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except OSError as exc:
        print(f"healthcheck: {exc}", file=sys.stderr)
        return 1
    if status != 200:
        print(f"healthcheck: /healthz/ answered {status}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
