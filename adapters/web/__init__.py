"""The web dashboard, an adapter like the chat platforms: HTTP requests in, core calls
(bot/dashboard.py), server-rendered HTML and JSON out. `install` adds its routes to the
HTTP listener that `payforward run` serves."""

from adapters.web.app import WebDeps, install

__all__ = ["WebDeps", "install"]
