"""Signing in and out, the home page, and the reader's own preferences."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from circus_api.auth import CSRF_ERROR
from circus_api.privileges import GLOBAL_PRIVILEGES
from circus_api.web import session as web_session
from circus_api.web.page import error_page, page, render
from circus_api.web.session import Session

HOME = "/series"
SIGNIN_REFUSED = "The login ID or password is not correct, or the account is disabled."


async def signin_form(request: Request) -> Response:
    current = await web_session.load_session(request)
    target = web_session.safe_next(request.query_params.get("next"), HOME)
    if current is not None:
        return RedirectResponse(target, status_code=303)
    return render(request, None, "signin.html", {"title": "Sign in", "next": target, "error": None, "username": ""})


async def signin(request: Request) -> Response:
    form = await request.form()
    target = web_session.safe_next(str(form.get("next") or ""), HOME)
    username, password = str(form.get("username") or "").strip(), str(form.get("password") or "")
    if not web_session.same_origin(request):
        return error_page(request, None, 403, "Not allowed", "Sign in from this site's own page.")
    access_token = await web_session.sign_in(request, username, password) if username and password else None
    if access_token is None:
        context = {"title": "Sign in", "next": target, "error": SIGNIN_REFUSED, "username": username}
        return render(request, None, "signin.html", context, status_code=400)
    response = RedirectResponse(target, status_code=303)
    web_session.set_cookie(response, request, access_token)
    return response


async def signout(request: Request) -> Response:
    """Ends this browser's session (other devices stay signed in); CSRF-checked like any form."""
    current = await web_session.load_session(request)
    if current is not None:
        if not web_session.form_csrf_ok(current, await request.form()):
            return error_page(request, current, 403, "Not allowed", CSRF_ERROR)
        await web_session.sign_out(request)
    response = RedirectResponse("/signin", status_code=303)
    web_session.clear_cookie(response, request)
    return response


async def home(request: Request) -> Response:
    signed_in = await web_session.load_session(request)
    return RedirectResponse(HOME if signed_in else "/signin", status_code=303)


def preferences_page(request: Request, session: Session) -> Response:
    user = session.user
    privileges = [
        {"key": key, "caption": GLOBAL_PRIVILEGES.get(key, key)} for key in session.privileges.global_privileges
    ]
    context = {
        "title": "Preferences",
        "account": {
            "name": session.display_name,
            "loginId": user.get("loginId"),
            "userEmail": session.user_email,
            "groups": session.group_names,
            "privileges": privileges,
            "domains": session.privileges.domains,
            "lastLoginTime": user.get("lastLoginTime"),
            "lastLoginIp": user.get("lastLoginIp"),
        },
        "can_view_personal_info": session.has_global("personalInfoView"),
        "p": session.preferences,
    }
    return render(request, session, "preferences.html", context)


ROUTES = [
    Route("/", home, methods=["GET"]),
    Route("/signin", signin_form, methods=["GET"]),
    Route("/signin", signin, methods=["POST"]),
    Route("/signout", signout, methods=["POST"]),
    page("/preferences", preferences_page),
]
