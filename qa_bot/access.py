"""Who may reach a served qa-bot: loopback binds, the web UI's logins, and the refusal to serve
an open port beyond this machine. Kept apart from the web UI so that ``qa-bot serve`` refuses an
unsafe start before Gradio is even imported (about 10 s here).
"""

from __future__ import annotations

import ipaddress
import sys

from .config import Settings
from .errors import ConfigError


def is_loopback(host: str) -> bool:
    """True when only this machine can reach ``host`` (127.0.0.0/8, ::1, localhost)."""
    if host.strip().lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def fetch_public_only(settings: Settings) -> bool:
    """Whether the web UI refuses URLs on private and local addresses: when the server can be
    reached from elsewhere, unless QA_BOT_FETCH_PRIVATE allows them (an intranet news site)."""
    return not (is_loopback(settings.host) or settings.fetch_private)


def credentials(settings: Settings) -> list[tuple[str, str]]:
    """The web UI's logins from QA_BOT_AUTH ("user:pw,user2:pw2") or QA_BOT_AUTH_FILE (one a line)."""
    entries: list[str] = []
    if settings.auth_file:
        try:
            entries += settings.auth_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"cannot read the auth file {settings.auth_file}: {getattr(e, 'strerror', None) or e}") from None
    if settings.auth:
        entries += settings.auth.split(",")
    out = []
    for entry in (e.strip() for e in entries):
        if not entry or entry.startswith("#"):
            continue
        user, sep, password = entry.partition(":")
        if not sep or not user.strip() or not password:
            raise ConfigError("each web login must look like user:password (QA_BOT_AUTH or QA_BOT_AUTH_FILE)")
        out.append((user.strip(), password))
    return out


def check_exposure(settings: Settings, host: str, no_auth: bool) -> list[tuple[str, str]] | None:
    """The logins to require, or None for an open server; refuses an open non-loopback bind.

    Called before anything is indexed or loaded, so a refused start costs nothing.
    """
    logins = credentials(settings)
    if is_loopback(host):
        return logins or None
    if not settings.api_key and not no_auth:
        raise ConfigError(
            f"refusing to serve the API (/v1) on {host} without a key: set QA_BOT_API_KEY, "
            "or pass --no-auth if the network is trusted"
        )
    if logins:
        return logins
    if no_auth:
        print(f"warning: serving on {host} with no password: anyone who can reach this port can "
              "read, upload and remove articles and use the model", file=sys.stderr, flush=True)
        return None
    raise ConfigError(
        f"refusing to serve on {host} without a password: set QA_BOT_AUTH=user:password "
        "(or QA_BOT_AUTH_FILE), or pass --no-auth if the network is trusted"
    )
