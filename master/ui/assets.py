"""``/ui/``: the web view's static files, read from this package and served without credentials.

The files hold no cluster data (every object is fetched by the page with the user's
token), so they pass the gates like ``/healthz`` does: a browser cannot attach an
``Authorization`` header to a page it navigates to. Only names of files shipped in
``static/`` are served; anything else under ``/ui/`` is a 404, and a path that tries to
leave the folder never reaches the filesystem. A Content-Security-Policy of ``'self'``
keeps the pages to their own scripts and to this origin's API.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from fastapi import FastAPI
from fastapi.responses import JSONResponse, RedirectResponse, Response

UI_PREFIX = "/ui/"
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",  # module scripts are refused under any other type
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # The pages change with the master's version; a reload after an upgrade must not run old scripts.
    "Cache-Control": "no-cache",
}


@cache
def shipped_files() -> dict[str, bytes]:
    """Every file of ``static/`` by its name, read once from the installed package."""
    folder = resources.files("master.ui") / "static"
    return {entry.name: entry.read_bytes() for entry in folder.iterdir() if entry.is_file() and _suffix(entry.name) in _TYPES}


def _suffix(name: str) -> str:
    return name[name.rfind(".") :] if "." in name else ""


def install(app: FastAPI) -> None:
    @app.get("/ui")
    async def ui_root() -> Response:
        return RedirectResponse(UI_PREFIX, status_code=301)

    @app.get("/ui/{name:path}")
    async def ui_file(name: str) -> Response:
        body = shipped_files().get(name or "index.html")
        if body is None:
            # A Status as every 404 of the master (master.apiserver.errors is not imported: it sits above us).
            status = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "reason": "NotFound", "code": 404}
            return JSONResponse({**status, "message": f"the web view has no file {name!r}"}, status_code=404)
        return Response(body, media_type=_TYPES[_suffix(name or "index.html")], headers=_HEADERS)
