"""GET /auth/key: whether this server wants an API key, and what the presented one may do.

Public (no key needed), so a client such as the console can ask before it has a key, without
a 401. It reveals nothing a 401/403 from any other route would not.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.security.utils import get_authorization_scheme_param

from app.api.auth import KeyRing
from app.api.schemas.keys import KeyInfo

router = APIRouter(tags=["system"])


@router.get("/auth/key", response_model=KeyInfo)
async def key_info(request: Request) -> KeyInfo:
    keyring: KeyRing = request.app.state.keyring
    header = request.headers.get("authorization")
    if not keyring.enabled:
        return KeyInfo(auth=False, presented=bool(header), scope="rw")
    scheme, credentials = get_authorization_scheme_param(header)
    scope = keyring.scope_of(credentials) if scheme.lower() == "bearer" and credentials else None
    return KeyInfo(auth=True, presented=bool(header), scope=scope.value if scope else None)
