"""Every router the app serves; one line per area."""

from app.api.routes import embed, system

ROUTERS = [
    system.router,
    embed.router,
]
