"""API-key auth: `Authorization: Bearer <key>`, read-write or read-only keys.

Installed by `create_app` as an app-wide dependency, so every route (present and future) is
covered by default. A route that changes state is a *write*: PUT, PATCH and DELETE always
are; a POST route that writes declares it with `dependencies=[WriteAccess]`. Read-only keys
get 403 on writes. Probes (`/health/*`) and `/metrics` are public unless settings say not.

Keys are compared in constant time: the SHA-256 of the presented key is compared with the
SHA-256 of every configured key (`hmac.compare_digest`, no early exit), so neither the
position of a mismatch nor the number of keys tried leaks through timing.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param

from app.errors import Forbidden, Unauthorized
from app.settings import AuthSettings

WRITE_METHODS = frozenset({"PUT", "PATCH", "DELETE"})


class KeyScope(StrEnum):
    READ_ONLY = "ro"
    READ_WRITE = "rw"


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


def parse_key_file(text: str) -> list[tuple[str, KeyScope]]:
    """Parse `<key> [rw|ro]` lines (`#` comments, blank lines ignored).

    Raises ValueError naming the line for an unknown scope or extra fields.
    """
    out: list[tuple[str, KeyScope]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        if len(fields) > 2:
            raise ValueError(f"key file line {number}: expected '<key> [rw|ro]'")
        scope = fields[1] if len(fields) == 2 else KeyScope.READ_WRITE.value
        if scope not in {s.value for s in KeyScope}:
            raise ValueError(
                f"key file line {number}: scope {scope!r} is not one of "
                f"{[s.value for s in KeyScope]}"
            )
        out.append((fields[0], KeyScope(scope)))
    return out


@dataclass(frozen=True)
class KeyRing:
    """Configured keys as (sha256 digest, scope) pairs."""

    entries: tuple[tuple[bytes, KeyScope], ...]

    @classmethod
    def from_settings(cls, settings: AuthSettings) -> KeyRing:
        pairs = [(k.get_secret_value(), KeyScope.READ_WRITE) for k in settings.keys]
        pairs += [(k.get_secret_value(), KeyScope.READ_ONLY) for k in settings.read_only_keys]
        if settings.key_file is not None:
            pairs += parse_key_file(Path(settings.key_file).read_text(encoding="utf-8"))
        for key, _ in pairs:
            if len(key) < 16:
                raise ValueError("API keys must be at least 16 characters long")
        return cls(tuple((_digest(k), scope) for k, scope in pairs))

    @property
    def enabled(self) -> bool:
        return bool(self.entries)

    def scope_of(self, presented: str) -> KeyScope | None:
        """The scope of a presented key, or None; constant time in the key's content."""
        digest = _digest(presented)
        found: KeyScope | None = None
        for known, scope in self.entries:
            if hmac.compare_digest(digest, known) and found is None:
                found = scope
        return found


# The console page and the docs' static files hold no data; the pages load them before a key
# is pasted. (Their API calls are authenticated as usual.) /auth/key tells whether a key is
# needed and what the presented one may do: the answer any route's 401/403 would give.
PUBLIC_PATHS = frozenset({"/console", "/console/", "/auth/key"})  # "/console/" redirects
PUBLIC_FILES = ("/console/static/", "/docs-assets/")


def is_public(path: str, settings: AuthSettings) -> bool:
    if path in PUBLIC_PATHS or path.startswith(PUBLIC_FILES):
        return True
    if settings.public_health and (path == "/health" or path.startswith("/health/")):
        return True
    return settings.public_metrics and path == "/metrics"


def make_authenticator(settings: AuthSettings, keyring: KeyRing) -> Callable:
    """The app-wide dependency: 401 without a valid key, 403 for a read-only key on a write."""
    bearer = HTTPBearer(auto_error=False, description="API key")

    async def authenticate(
        request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)
    ) -> None:
        if is_public(request.url.path, settings):
            return
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise Unauthorized("missing API key: send 'Authorization: Bearer <key>'")
        scope = keyring.scope_of(credentials.credentials)
        if scope is None:
            raise Unauthorized("invalid API key")
        request.state.key_scope = scope
        if request.method in WRITE_METHODS:
            _require_write(request)

    return authenticate


def _require_write(request: Request) -> None:
    scope = getattr(request.state, "key_scope", None)
    if scope is KeyScope.READ_ONLY:
        raise Forbidden("this API key is read-only; the request writes")


async def require_write(request: Request) -> None:
    """Route dependency marking a POST route as a write (PUT/PATCH/DELETE already are)."""
    _require_write(request)


WriteAccess = Depends(require_write)


def key_scope(authorization: str | None, keyring: KeyRing) -> KeyScope:
    """The scope of the key in an `Authorization` header value; raises Unauthorized.

    The request guard calls it before reading a body (`app.api.middleware`), so a client
    without a valid key learns no body rule (413, 400) before its 401.
    """
    scheme, credentials = get_authorization_scheme_param(authorization)
    if not authorization or scheme.lower() != "bearer" or not credentials:
        raise Unauthorized("missing API key: send 'Authorization: Bearer <key>'")
    scope = keyring.scope_of(credentials)
    if scope is None:
        raise Unauthorized("invalid API key")
    return scope
