"""Staff sign-in: users with roles, argon2 password hashes, signed session cookies, role checks.

- Users live in `staff_users` (migration 110). Demo users are seeded when `settings.demo_users` is on,
  and `DEMO_USERS` is what `desk up` prints.
- The session cookie `desk_session` holds a random id of a server-side session (ledger/sessions.py): sign-out,
  a new password or a deactivation ends it; it expires `session_hours` after sign-in or
  `session_idle_minutes` after the last request. The user is re-read from the database on every request,
  so changing a role takes effect at once. Sign-in is throttled per account and per address (ledger/login_throttle.py).
- `require_staff` / `require_role(...)` are FastAPI dependencies. Every staff action is checked on the
  server; pages only hide what a role may not do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import quote

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from domain.models import STAFF_ROLES, Actor, Department, Role
from ledger import login_throttle as throttle
from ledger import sessions
from ui.csrf import verify_csrf
from ui.i18n import label, t
from ui.templating import render, request_locale

SESSION_COOKIE = sessions.COOKIE

_hasher = PasswordHasher()
# Verified against when the user name is unknown, so a wrong name costs the same time as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


@dataclass(frozen=True)
class StaffUser:
    username: str
    display_name: str
    role: Role
    department: Department | None = None

    def actor(self) -> Actor:
        return Actor(id=self.username, role=self.role, name=self.display_name)

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles or self.role == Role.ADMIN


class DemoUser(NamedTuple):
    role: Role
    username: str
    password: str
    name: str
    department: Department | None

    def __str__(self) -> str:
        dept = f", {self.department.value}" if self.department else ""
        login = f"{self.username} / {self.password}"
        return f"{self.role.value:<18} {login:<14} ({self.name}{dept})"


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser(Role.SPECIALIST, "zhang", "demo", "张敏 Zhang Min", Department.CUSTOMER_SERVICE),
    DemoUser(Role.SPECIALIST, "li", "demo", "李娜 Li Na", Department.CUSTOMER_SERVICE),
    DemoUser(Role.ENGINEER, "chen", "demo", "陈工 Chen Gong", Department.TECHNICAL),
    DemoUser(Role.LOGISTICS, "wang", "demo", "王磊 Wang Lei", Department.WAREHOUSE),
    DemoUser(Role.LOGISTICS, "liu", "demo", "刘洋 Liu Yang", Department.TRANSPORT),
    DemoUser(Role.SUPERVISOR, "zhao", "demo", "赵主管 Zhao Jing", Department.CUSTOMER_SERVICE),
    DemoUser(Role.SENIOR_SUPERVISOR, "sun", "demo", "孙经理 Sun Wei", Department.CUSTOMER_SERVICE),
    DemoUser(Role.DEPARTMENT_HEAD, "zhou", "demo", "周总 Zhou Qiang", Department.LOGISTICS),
    DemoUser(Role.ADMIN, "admin", "demo", "管理员 Admin", None),
)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _pool(request: Request) -> asyncpg.Pool:
    return request.app.state.ctx.pool


def _user_from_row(row: asyncpg.Record) -> StaffUser:
    dept = row["department"]
    return StaffUser(
        username=row["username"],
        display_name=row["display_name"],
        role=Role(row["role"]),
        department=Department(dept) if dept in Department._value2member_map_ else None,
    )


async def create_user(
    pool: asyncpg.Pool,
    username: str,
    password: str,
    role: Role,
    display_name: str,
    department: Department | None = None,
) -> None:
    if role not in STAFF_ROLES:
        raise ValueError(f"role {role!r} is not a staff role")
    await pool.execute(
        "INSERT INTO staff_users (username, display_name, role, department, password_hash)"
        " VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT (username) DO UPDATE SET display_name = EXCLUDED.display_name, role = EXCLUDED.role,"
        " department = EXCLUDED.department, password_hash = EXCLUDED.password_hash, active = true",
        username,
        display_name,
        role.value,
        department.value if department else None,
        hash_password(password),
    )


async def seed_demo_users(pool: asyncpg.Pool) -> int:
    """Add the demo users that are missing (never overwrites a changed password). Returns how many."""
    existing = {r["username"] for r in await pool.fetch("SELECT username FROM staff_users")}
    missing = [u for u in DEMO_USERS if u.username not in existing]
    if not missing:
        return 0
    hashes = {pw: hash_password(pw) for pw in {u.password for u in missing}}  # one hash per distinct password
    await pool.executemany(
        "INSERT INTO staff_users (username, display_name, role, department, password_hash)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (username) DO NOTHING",
        [
            (
                u.username,
                u.name,
                u.role.value,
                u.department.value if u.department else None,
                hashes[u.password],
            )
            for u in missing
        ],
    )
    return len(missing)


async def authenticate(pool: asyncpg.Pool, username: str, password: str) -> StaffUser | None:
    row = await pool.fetchrow(
        "SELECT username, display_name, role, department, password_hash FROM staff_users"
        " WHERE username = $1 AND active",
        username.strip().lower(),
    )
    try:
        _hasher.verify(row["password_hash"] if row else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None:
        return None
    await pool.execute("UPDATE staff_users SET last_login_at = now() WHERE username = $1", row["username"])
    return _user_from_row(row)


async def list_staff(pool: asyncpg.Pool) -> list[StaffUser]:
    rows = await pool.fetch(
        "SELECT username, display_name, role, department FROM staff_users WHERE active ORDER BY role, username"
    )
    return [_user_from_row(r) for r in rows]


async def current_user(request: Request) -> StaffUser | None:
    """The signed-in user, or None. Cached on the request."""
    if hasattr(request.state, "staff_user"):
        return request.state.staff_user
    user: StaffUser | None = None
    ctx = request.app.state.ctx
    username = await sessions.username_for(ctx.pool, ctx.settings, request.cookies.get(SESSION_COOKIE, ""))
    if username is not None:
        row = await ctx.pool.fetchrow(
            "SELECT username, display_name, role, department FROM staff_users WHERE username = $1 AND active",
            username,
        )
        user = _user_from_row(row) if row else None
    request.state.staff_user = user
    return user


async def session_identity(request: Request) -> tuple[str, Role] | None:
    """(user id, role) of the signed-in staff member, for other routers' own checks (e.g. the codec server)."""
    user = await current_user(request)
    return (user.username, user.role) if user else None


async def require_staff(request: Request) -> StaffUser:
    """Dependency: a signed-in staff member. Browsers are sent to the sign-in page, others get 401."""
    user = await current_user(request)
    if user is not None:
        return user
    if request.method == "GET":
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise HTTPException(
            status_code=303, detail="sign in first", headers={"Location": f"/login?next={quote(target)}"}
        )
    raise HTTPException(status_code=401, detail="sign in first")


def require_role(*roles: Role):
    """Dependency factory: the signed-in user must hold one of `roles` (admin always may)."""
    allowed = frozenset(roles)

    async def dependency(request: Request, user: StaffUser = Depends(require_staff)) -> StaffUser:
        if user.role in allowed or user.role == Role.ADMIN:
            return user
        locale = request_locale(request)
        raise HTTPException(
            status_code=403,
            detail=t(
                "error.forbidden", locale, role=label("role", user.role, locale), action=request.url.path
            ),
        )

    return dependency


def safe_next(target: str | None) -> str:
    """Only same-site relative paths: never an open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/staff"


router = APIRouter(include_in_schema=False)


@router.get("/login")
async def login_page(request: Request, next: str = "/staff") -> Response:
    demo = DEMO_USERS if request.app.state.ctx.settings.demo_users else ()
    return render(request, "login.html", {"next": safe_next(next), "demo_users": demo, "error": None})


@router.post("/login", dependencies=[Depends(verify_csrf)])
async def login(
    request: Request,
    username: str = Form(..., max_length=40),
    password: str = Form(..., max_length=200),
    next: str = Form("/staff", max_length=2000),
) -> Response:
    pool, settings = _pool(request), request.app.state.ctx.settings
    locale = request_locale(request)
    demo = DEMO_USERS if settings.demo_users else ()
    address = request.client.host if request.client else "unknown"
    keys = (throttle.account_key(username), throttle.address_key(address))
    # The address first: a locked-out address does not count against the accounts it guesses at.
    by_address = await throttle.attempt(pool, keys[1], throttle.ADDRESS_FREE_FAILURES)
    account = (
        await throttle.attempt(pool, keys[0], throttle.ACCOUNT_FREE_FAILURES)
        if by_address.allowed
        else throttle.Attempt(allowed=False, wait_s=0)
    )
    if not (account.allowed and by_address.allowed):  # refused before the password is even looked at
        wait = max(account.wait_s, by_address.wait_s)
        refused = render(
            request,
            "login.html",
            {"next": safe_next(next), "demo_users": demo, "error": t("login.throttled", locale, n=wait)},
            status_code=429,
        )
        refused.headers["Retry-After"] = str(wait)
        return refused
    user = await authenticate(pool, username, password)
    if user is None:
        error = t("login.failed", locale)
        wait = max(account.wait_s, by_address.wait_s)
        if wait:
            error += " " + t("login.throttled", locale, n=wait)
        return render(
            request,
            "login.html",
            {"next": safe_next(next), "demo_users": demo, "error": error},
            status_code=401,
        )
    await throttle.succeeded(pool, keys[0])
    await throttle.forgive(pool, keys[1])
    old_session = request.cookies.get(SESSION_COOKIE, "")
    if old_session:
        await sessions.end(pool, old_session)  # never keep a session id from before sign-in (fixation)
    session_id = await sessions.start(pool, settings, user.username, client=address)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=int(settings.session_hours * 3600),
        httponly=True,
        samesite="lax",
        secure=is_https(request),
        path="/",
    )
    return response


def is_https(request: Request) -> bool:
    """Served over TLS: directly, behind a trusted proxy (X-Forwarded-Proto, DESK_TRUSTED_PROXIES), or
    published under an https public URL."""
    public = request.app.state.ctx.settings.public_base_url
    return request.url.scheme == "https" or public.startswith("https://")


@router.post("/logout", dependencies=[Depends(verify_csrf)])
async def logout(request: Request) -> Response:
    await sessions.end(_pool(request), request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
