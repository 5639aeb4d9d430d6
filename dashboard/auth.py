"""Dashboard access: a Flask session login against the users of ``dashboard.toml``.

Passwords are checked against their stored ``werkzeug.security`` hashes; the session
cookie is signed with the secret from the environment (:func:`dashboard.config.session_secret`),
is HTTP-only and ``SameSite=Strict``.  Every request except the login page needs a
logged-in session: pages are redirected to ``/login``, Dash's requests get 401.

Actions that change the alert state call :func:`require_operator` inside the callback,
so a viewer's request is refused by the server (403) whatever the browser sends.

Make a hash for ``dashboard.toml`` with ``python -m dashboard.auth`` (asks for the password).
"""

from __future__ import annotations

import getpass
import html
import secrets

import flask
from werkzeug.security import check_password_hash, generate_password_hash
from werkzeug.wrappers import Response

from dashboard.config import DashboardConfig, Role, User

#: Paths served without a login.
PUBLIC_PATHS: frozenset[str] = frozenset({"/login"})
#: Checked against when the user name is unknown, so both failures take the same time.
_DUMMY_HASH = generate_password_hash(secrets.token_hex(16))

_LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>jointwatch - sign in</title></head>
<body style="font-family: sans-serif; max-width: 22em; margin: 4em auto">
<h1>jointwatch</h1>
<form method="post" action="/login">
<p><label>User <input name="username" autocomplete="username" required></label></p>
<p><label>Password <input name="password" type="password" autocomplete="current-password"
 required></label></p>
<p><button type="submit">Sign in</button></p>
</form>{message}</body></html>
"""


def authenticate(users: dict[str, User], username: str, password: str) -> User | None:
    """The user if ``password`` matches the stored hash of ``username``, else None."""
    user = users.get(username)
    valid = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
    return user if user is not None and valid else None


def current_role() -> Role | None:
    """Role of the logged-in user of the current request (None: not logged in, or no request)."""
    if not flask.has_request_context():
        return None
    role = flask.session.get("role")
    return Role(role) if role in {r.value for r in Role} else None


def current_user() -> str | None:
    """Name of the logged-in user of the current request (None outside a request)."""
    if not flask.has_request_context():
        return None
    name = flask.session.get("user")
    return str(name) if name else None


def require_operator(action: str) -> str:
    """The operator's name; aborts the request with 403 for anyone else.

    Parameters
    ----------
    action
        What was attempted, for the refusal message (e.g. ``"confirm an issuance"``).
    """
    if current_role() != Role.OPERATOR:
        flask.abort(403, description=f"refused: only a coordinating-centre operator may "
                                     f"{action} (you are {current_user() or 'not logged in'}, "
                                     f"{current_role() or 'no role'})")
    return str(current_user())


def _login_page(message: str = "", status: int = 200) -> Response:
    shown = f'<p role="alert" style="color:#b00">{html.escape(message)}</p>' if message else ""
    return Response(_LOGIN_PAGE.format(message=shown), status=status, mimetype="text/html")


def install(server: flask.Flask, cfg: DashboardConfig, secret: str) -> None:
    """Add the login/logout routes and the login check to the dashboard's Flask server."""
    server.config.update(SECRET_KEY=secret, SESSION_COOKIE_HTTPONLY=True,
                         SESSION_COOKIE_SAMESITE="Strict")

    def login() -> Response | flask.typing.ResponseReturnValue:
        if flask.request.method == "GET":
            return _login_page()
        username = flask.request.form.get("username", "")
        user = authenticate(cfg.users, username, flask.request.form.get("password", ""))
        if user is None:
            return _login_page("Unknown user or wrong password.", status=401)
        flask.session.clear()
        flask.session.update(user=username, role=user.role.value)
        return flask.redirect("/")

    def logout() -> flask.typing.ResponseReturnValue:
        flask.session.clear()
        return flask.redirect("/login")

    def check_login() -> flask.typing.ResponseReturnValue | None:
        if flask.request.path in PUBLIC_PATHS or current_role() is not None:
            return None
        if flask.request.path.startswith("/_dash-update-component"):
            flask.abort(401, description="not logged in")
        return flask.redirect("/login")

    server.add_url_rule("/login", "login", login, methods=["GET", "POST"])
    server.add_url_rule("/logout", "logout", logout, methods=["POST", "GET"])
    server.before_request(check_login)


def main() -> None:
    """Print a password hash for ``dashboard.toml`` (the password is asked, never echoed)."""
    password = getpass.getpass("password: ")
    if password != getpass.getpass("again: "):
        raise SystemExit("the passwords differ")
    print(generate_password_hash(password))


if __name__ == "__main__":
    main()
