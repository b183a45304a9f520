"""The ASGI app served by uvicorn: `app.main:app` (settings from `WORKUP_*` variables)."""

from app.factory import create_app

app = create_app()
