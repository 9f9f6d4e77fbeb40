"""Security headers on every response of vote and result.

The pages load nothing from elsewhere, so the Content-Security-Policy allows only the app's own
origin, no inline script at all and inline style only as a ``<style>`` block whose SHA-256 is in
that response's policy (``inline_style``: the result page's bar widths before JavaScript runs).
Nothing may frame the pages. Only the static files may be kept by a cache (and must revalidate);
every other response, the API and the event stream included, is ``no-store``.
"""

from __future__ import annotations

import base64
import hashlib

from flask import Flask, Response, g, request
from markupsafe import Markup

CSP_DIRECTIVES = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'{style_hashes}",
    "img-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)

FIXED_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",  # for browsers that predate frame-ancestors
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}

# Static files have no version in their names: a cache may keep them but must ask first (ETag).
STATIC_CACHE = "no-cache"
DYNAMIC_CACHE = "no-store"


def inline_style(css: str) -> Markup:
    """A ``<style>`` block the policy of this response admits by its hash. ``css`` is app-made."""
    if "<" in css:
        raise ValueError("inline style must not contain '<'")
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
    g.setdefault("csp_style_hashes", []).append(f"'sha256-{digest}'")
    return Markup(f"<style>{css}</style>")  # noqa: S704 - css is built by the app and holds no '<'


def content_security_policy(style_hashes: list[str] | tuple[str, ...] = ()) -> str:
    hashes = "".join(f" {h}" for h in style_hashes)
    return "; ".join(d.format(style_hashes=hashes) for d in CSP_DIRECTIVES)


def _is_static() -> bool:
    return request.endpoint is not None and (request.endpoint == "static" or request.endpoint.endswith(".static"))


def install(app: Flask) -> None:
    app.jinja_env.globals["inline_style"] = inline_style

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = content_security_policy(g.get("csp_style_hashes", ()))
        response.headers.update(FIXED_HEADERS)
        response.headers["Cache-Control"] = STATIC_CACHE if _is_static() else DYNAMIC_CACHE
        return response
