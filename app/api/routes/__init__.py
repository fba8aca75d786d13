"""Every router the app serves; one line per area."""

from app.api.routes import (
    collections,
    duplicates,
    embed,
    keys,
    matching,
    paraphrase,
    search,
    system,
)

ROUTERS = [
    system.router,
    embed.router,
    collections.router,
    search.router,
    matching.router,
    duplicates.router,
    paraphrase.router,
    keys.router,
]
