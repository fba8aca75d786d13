"""Every router the app serves; one line per area."""

from app.api.routes import embed, paraphrase, system

ROUTERS = [
    system.router,
    embed.router,
    paraphrase.router,
]
