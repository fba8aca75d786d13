"""Every router the app serves; one line per area."""

from app.api.routes import collections, embed, paraphrase, search, system

ROUTERS = [
    system.router,
    embed.router,
    collections.router,
    search.router,
    paraphrase.router,
]
