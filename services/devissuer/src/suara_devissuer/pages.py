"""The issuer's few HTML pages (login, logout, errors): plain HTML, no script, nothing loaded
from elsewhere, a strict Content-Security-Policy."""

from __future__ import annotations

from html import escape
from urllib.parse import urlsplit

from fastapi.responses import HTMLResponse

STYLESHEET = """
body { font: 16px/1.5 system-ui, sans-serif; margin: 0; color: #1a1a1a; background: #f4f4f1; }
main { max-width: 24rem; margin: 3rem auto; padding: 1.5rem; background: #fff;
       border: 1px solid #c8c8c0; border-radius: 4px; }
h1 { font-size: 1.4rem; margin-top: 0; }
label { display: block; margin-top: 1rem; font-weight: 600; }
input { display: block; width: 100%; box-sizing: border-box; padding: .5rem; font: inherit;
        border: 1px solid #595959; border-radius: 3px; }
button { margin-top: 1.25rem; padding: .6rem 1.2rem; font: inherit; font-weight: 600;
         color: #fff; background: #1d4e89; border: 0; border-radius: 3px; cursor: pointer; }
:focus-visible { outline: 3px solid #b35900; outline-offset: 2px; }
.error { color: #8a1c1c; background: #fbeaea; padding: .5rem .75rem; border-left: 4px solid #8a1c1c; }
.note { color: #4a4a4a; font-size: .9rem; }
"""


def origin(url: str) -> str:
    """scheme://host[:port] of an absolute URL."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def csp(form_targets: tuple[str, ...] = ()) -> str:
    """The pages' policy; `form_targets` are the origins a form may lead to (Chromium applies
    form-action to the redirect that answers a form)."""
    forms = " ".join(("'self'", *sorted({origin(t) for t in form_targets})))
    return (f"default-src 'none'; style-src 'self'; form-action {forms}; base-uri 'none'; "
            "frame-ancestors 'none'")


def page(title: str, body: str, *, status: int = 200, stylesheet: str,
         form_targets: tuple[str, ...] = ()) -> HTMLResponse:
    """A complete page with the issuer's security headers."""
    html = (f'<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{escape(title)}</title>\n"
            f'<link rel="stylesheet" href="{escape(stylesheet)}">\n</head>\n<body>\n'
            f"<main>\n{body}\n</main>\n</body>\n</html>\n")
    headers = {"Content-Security-Policy": csp(form_targets), "X-Frame-Options": "DENY",
               "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff",
               "Cache-Control": "no-store"}
    return HTMLResponse(html, status_code=status, headers=headers)


def login_page(*, realm: str, client: str, action: str, request_id: str, username: str,
               error: str | None, stylesheet: str, redirect_uri: str) -> HTMLResponse:
    """The login form for the realm's seeded users."""
    described = ' aria-describedby="error" aria-invalid="true"' if error else ""
    alert = f'<p class="error" id="error" role="alert">{escape(error)}</p>\n' if error else ""
    body = (f"<h1>Sign in to {escape(realm)}</h1>\n"
            f'<p class="note">to continue to {escape(client)}</p>\n{alert}'
            f'<form method="post" action="{escape(action)}">\n'
            f'<input type="hidden" name="request" value="{escape(request_id)}">\n'
            f'<label for="username">Username</label>\n'
            f'<input id="username" name="username" autocomplete="username" required '
            f'autocapitalize="none" spellcheck="false" value="{escape(username)}"{described}>\n'
            f'<label for="password">Password</label>\n'
            f'<input id="password" name="password" type="password" '
            f'autocomplete="current-password" required{described}>\n'
            f'<button type="submit">Sign in</button>\n</form>\n'
            f'<p class="note">Development issuer: the accounts are those of the realm file '
            f"(<code>make run</code> lists them).</p>")
    return page(f"Sign in to {realm}", body, status=401 if error else 200,
                stylesheet=stylesheet, form_targets=(redirect_uri,))


def message_page(title: str, text: str, *, status: int, stylesheet: str) -> HTMLResponse:
    """A page that only says something (an error, or that the user is signed out)."""
    body = f"<h1>{escape(title)}</h1>\n<p>{escape(text)}</p>"
    return page(title, body, status=status, stylesheet=stylesheet)


def logout_confirmation(*, action: str, confirm: str, stylesheet: str, keep: dict[str, str],
                        form_targets: tuple[str, ...]) -> HTMLResponse:
    """Keycloak's question when a logout request carries no ID token to show who sent it."""
    hidden = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">\n'
                     for k, v in {**keep, "confirm": confirm}.items())
    body = ("<h1>Sign out</h1>\n<p>Do you want to sign out?</p>\n"
            f'<form method="post" action="{escape(action)}">\n{hidden}'
            '<button type="submit">Sign out</button>\n</form>')
    return page("Sign out", body, stylesheet=stylesheet, form_targets=form_targets)
