"""The console's two cookies, and the one rule the edge middlewares apply to them: they live
under /console only, and nothing else there (or anywhere) keeps a cookie.

Names: `__Host-` cookies must be Secure, Path=/ and host-only, so no other site or subdomain
can plant or shadow them. Browsers keep Secure cookies from secure origins only; Chromium (and
Firefox) count http://127.0.0.1, http://[::1] and http://localhost as secure, so `make run` over
plain HTTP on a loopback address uses the same `__Host-` names as production over HTTPS (tested
in tests/e2e/test_console_in_browser.py). Only a development gateway on another plain-HTTP
address (e.g. a LAN IP) falls back to unprefixed, non-Secure names; production refuses such an
address (settings).
"""

from __future__ import annotations

PATH_PREFIX = "/console"
SESSION, LOGIN = "suara-console", "suara-console-login"
SECURE_PREFIX = "__Host-"
NAMES = frozenset({SESSION, LOGIN, SECURE_PREFIX + SESSION, SECURE_PREFIX + LOGIN})


def under_console(path: str) -> bool:
    """Whether a request path belongs to the console."""
    return path == PATH_PREFIX or path.startswith(PATH_PREFIX + "/")


def name(base: str, secure: bool) -> str:
    """A cookie's name for a gateway whose origin is (or is not) secure."""
    return SECURE_PREFIX + base if secure else base


def console_cookie_header(values: list[bytes]) -> bytes | None:
    """The console's own cookies out of a request's Cookie headers; every other is dropped."""
    kept = []
    for value in values:
        for pair in value.decode("latin-1").split(";"):
            key, sep, _ = pair.strip().partition("=")
            if sep and key in NAMES:
                kept.append(pair.strip())
    return "; ".join(kept).encode("latin-1") if kept else None


def is_console_set_cookie(value: bytes) -> bool:
    """Whether a Set-Cookie header sets (or clears) one of the console's cookies."""
    key, sep, _ = value.decode("latin-1").partition("=")
    return bool(sep) and key.strip() in NAMES
