"""Console pages: server-rendered, no script, nothing from elsewhere, a strict policy."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse

from suara_gateway.console import i18n
from suara_gateway.i18n import Language


def policy(issuer: str) -> str:
    """The Content-Security-Policy of console pages. The issuer's origin is a form target:
    signing out posts here and is answered by a redirect to the issuer's logout, and Chromium
    holds that redirect to form-action."""
    parts = urlsplit(issuer)
    return ("default-src 'none'; style-src 'self'; img-src 'self'; "
            f"form-action 'self' {parts.scheme}://{parts.netloc}; base-uri 'none'; "
            "frame-ancestors 'none'")


def render(request: Request, template: str, language: Language, *, status: int = 200,
           **context: Any) -> HTMLResponse:
    """A console page in `language`, with its security headers."""
    html = i18n.environment(language).get_template(template).render(
        request=request, language=language, languages=i18n.STAFF_LANGUAGES, **context)
    headers = {
        "Content-Security-Policy": policy(request.app.state.console.settings.oidc_issuer),
        # same-origin (not the gateway's no-referrer): browsers then send Origin with the
        # console's own form posts, which the CSRF check reads; nothing leaves for elsewhere
        "Referrer-Policy": "same-origin",
        "Content-Language": language.code,
    }
    return HTMLResponse(html, status_code=status, headers=headers)


def message(request: Request, language: Language, *, status: int, title: str, text: str,
            link: tuple[str, str] | None = None, **context: Any) -> HTMLResponse:
    """A page that says one thing (an error, a sign-out), with at most one way on. `title`,
    `text` and the link's label are catalog strings, translated here."""
    gettext = i18n.translations(language).gettext
    way_on = (link[0], gettext(link[1])) if link else None
    return render(request, "message.html", language, status=status, title=gettext(title),
                  text=gettext(text), link=way_on, **context)
