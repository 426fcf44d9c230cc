"""`/docs`: the API's Swagger UI, served by the app itself.

FastAPI's own `/docs` loads Swagger UI from a CDN at a floating version (and `/redoc`
ReDoc and Google Fonts): a page that holds a user's API token would run whatever that
host serves today. Here the page's script and stylesheet come from the `fastapi-offline`
package (a pinned Swagger UI 5, which reads OpenAPI 3.1), under `/docs/assets`, and the
page's Content-Security-Policy allows nothing else: its one inline script by hash, no
other host, no validator badge (Swagger UI would fetch one from validator.swagger.io).
"""

import base64
import hashlib
import re
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_URL = "/docs"
ASSETS_URL = "/docs/assets"
ASSETS = Path(fastapi_offline.__file__).parent / "static"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def mount_docs(app: FastAPI) -> None:
    """Serve Swagger UI at /docs from this app's own files (the app is made with
    `docs_url=None, redoc_url=None`, so FastAPI adds no CDN pages of its own)."""
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="docs-assets")
    page = swagger_page(app)
    headers = {"Content-Security-Policy": docs_csp(page), "Cache-Control": "no-cache"}

    @app.get(DOCS_URL, include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(page, headers=headers)


def swagger_page(app: FastAPI) -> str:
    response = get_swagger_ui_html(
        openapi_url=app.openapi_url or "/openapi.json",
        title=f"{app.title} – API",
        swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
        oauth2_redirect_url=None,  # tokens are pasted as Bearer; no OAuth2 flow
        swagger_ui_parameters={"validatorUrl": None},
    )
    return bytes(response.body).decode()


def docs_csp(page: str) -> str:
    """The page's own files, and its inline start-up script by its SHA-256 only."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
        for s in _INLINE_SCRIPT.findall(page)
    )
    return (
        f"default-src 'self'; script-src 'self' {hashes}; style-src 'self'; "
        "img-src 'self' data:; connect-src 'self'; font-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    )
