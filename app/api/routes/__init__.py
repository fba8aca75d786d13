"""Every router the app serves; one line per area."""

from app.api.routes import collections, embed, keys, paraphrase, search, system

ROUTERS = [
    system.router,
    embed.router,
    collections.router,
    search.router,
    paraphrase.router,
    keys.router,
]
