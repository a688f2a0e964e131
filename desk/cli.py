"""`desk`: one command line for every process of the product.

    desk up           the whole product on this machine (embedded Temporal dev server + PostgreSQL)
    desk worker       the worker process, against DESK_TEMPORAL_ADDRESS and DESK_DATABASE_URL
    desk web          the web app (intake API, staff UI, status page), same settings
    desk email-intake the inbound SMTP endpoint: each e-mail becomes a complaint (DESK_EMAIL_INTAKE_*)
    desk migrate      apply the ledger migrations to DESK_DATABASE_URL
    desk submit …     file a complaint from the command line (starters.submit)
    desk import-csv F import complaints from a CSV file (starters.csv_import)
    desk bench …      benchmarks (bench.cli)
    desk codec-server the payload codec endpoint for the Temporal Web UI (ui.codec_server)
    desk users add U  add a staff login (or set its password and role): the first admin of a new install
    desk healthcheck  exit 0 when this container's worker polls / web app / e-mail intake answers (docker)
    desk calendar …   the business calendar: show the holiday data and its gaps, import an iCal feed
    desk what-if …    a period's complaints replayed under a proposed policy (desk.whatif)

Settings come from DESK_* environment variables (see .env.example); flags override them.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import getpass
import inspect
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import structlog

from core.logs import configure_logging
from core.safety import UnsafeSettings, check_safe
from core.settings import Settings, dial_host
from domain.models import STAFF_ROLES, Department, Role
from ui import catalogues

log = structlog.get_logger("desk")


def _settings(overrides: dict[str, Any]) -> Settings:
    settings = Settings()
    given = {k: v for k, v in overrides.items() if v is not None}
    return settings.model_copy(update=given) if given else settings


def _safe(settings: Settings) -> bool:
    """False (and says what to set) when a public secret or demo passwords would be served outside dev."""
    try:
        check_safe(settings)
    except UnsafeSettings as e:
        print(f"desk: {e}", file=sys.stderr)
        return False
    return True


def _run(result: Any) -> Any:
    """Call sites in other modules may be sync or async; run the coroutine if there is one."""
    return asyncio.run(result) if inspect.isawaitable(result) else result


def _exit_code(result: Any) -> int:
    return result if isinstance(result, int) and not isinstance(result, bool) else 0


def _require_database(settings: Settings) -> bool:
    if settings.database_url:
        return True
    print(
        "desk: DESK_DATABASE_URL is not set. Point it at your PostgreSQL "
        "(e.g. postgresql://desk:secret@db:5432/desk), or run `desk up` for the embedded stack.",
        file=sys.stderr,
    )
    return False


# ------------------------------------------------------------------------------------------- commands


def cmd_up(args: argparse.Namespace) -> int:
    settings = _settings(
        {
            "data_dir": args.data_dir,
            "temporal_port": args.temporal_port,
            "temporal_ui_port": args.ui_port,
            "web_host": args.web_host,
            "web_port": args.web_port,
            "smtp_port": args.smtp_port,
            "email_intake_port": args.email_intake_port,
        }
    )
    configure_logging(settings.log_level, settings.log_json)
    from desk import stack

    return stack.main(settings)


def cmd_worker(args: argparse.Namespace) -> int:
    settings = _settings({})
    configure_logging(settings.log_level, settings.log_json)
    if not _safe(settings):
        return 2
    from workers import main as worker_main

    code = worker_main.main(settings)
    # Everything is closed by now (worker, pool, tracing). The SDK's native runtime can abort while the
    # interpreter finalizes (seen on the start-refused paths, more often the more modules there are to
    # tear down), so leave without finalizing, as `desk simulate` does.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def cmd_web(args: argparse.Namespace) -> int:
    settings = _settings({"web_host": args.host, "web_port": args.port})
    configure_logging(settings.log_level, settings.log_json)
    if not all([_safe(settings), _require_database(settings)]):  # say every problem at once
        return 2
    import uvicorn

    from desk.web import create_web_app

    structlog.contextvars.bind_contextvars(process="web")
    config = uvicorn.Config(
        create_web_app(settings),
        host=settings.web_host,
        port=settings.web_port,
        log_config=None,  # our structlog handler renders uvicorn's records too
        lifespan="on",
        timeout_graceful_shutdown=10,
        proxy_headers=True,  # X-Forwarded-Proto/-For from DESK_TRUSTED_PROXIES only: https → Secure cookies
        forwarded_allow_ips=settings.trusted_proxies,
    )
    server = uvicorn.Server(config)
    server.run()  # installs its own SIGINT/SIGTERM handlers and shuts down gracefully
    if not server.started:
        log.error("web app failed to start", host=settings.web_host, port=settings.web_port)
        return 3
    return 0


def cmd_email_intake(args: argparse.Namespace) -> int:
    settings = _settings(
        {
            "email_intake_host": args.host,
            "email_intake_port": args.port,
            "email_intake_recipients": args.recipients,
        }
    )
    configure_logging(settings.log_level, settings.log_json)
    if not _require_database(settings):
        return 2
    from starters.email_intake import run_email_intake

    return asyncio.run(run_email_intake(settings))


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = _settings({})
    configure_logging(settings.log_level, settings.log_json)
    if not _require_database(settings):
        return 2
    from ledger.schema import migrate

    applied = asyncio.run(migrate(settings.database_url))
    print(
        f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else " (up to date)")
    )
    return 0


def cmd_submit(args: argparse.Namespace) -> int:
    settings = _settings({})
    configure_logging(settings.log_level, settings.log_json)
    from starters import submit as module

    # The options belong to starters.submit; parsed here so `desk --help` does not import the intake.
    parser = argparse.ArgumentParser(
        prog="desk submit", description=module.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    module.add_arguments(parser)
    return _exit_code(_run(module.submit(parser.parse_args(args.args), settings)))


def cmd_import_csv(args: argparse.Namespace) -> int:
    settings = _settings({})
    configure_logging(settings.log_level, settings.log_json)
    from starters import csv_import

    if not args.path.is_file():
        print(f"desk import-csv: {args.path}: no such file", file=sys.stderr)
        return 2
    options = {"report_path": args.report, "concurrency": args.concurrency}
    return _exit_code(
        _run(csv_import.import_csv(args.path, settings, **{k: v for k, v in options.items() if v}))
    )


def cmd_simulate(args: argparse.Namespace) -> int:
    from desk import simulate

    return simulate.main([str(args.scenario)])


def cmd_bench(args: argparse.Namespace) -> int:
    from bench import cli as bench_cli

    return _exit_code(_run(bench_cli.main(args.args)))


def cmd_what_if(args: argparse.Namespace) -> int:
    from desk import whatif

    return whatif.main(args.args)


def cmd_i18n(args: argparse.Namespace) -> int:
    return catalogues.main(args.args)


def cmd_codec_server(args: argparse.Namespace) -> int:
    settings = _settings({"codec_host": args.host, "codec_port": args.port})
    configure_logging(settings.log_level, settings.log_json)
    from ui import codec_server

    return _exit_code(codec_server.serve(settings))


MIN_PASSWORD_LENGTH = 10


def _new_password(from_stdin: bool) -> str | None:
    """From one stdin line (scripts), else asked twice on the terminal; None when it is unusable (said why)."""
    if from_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            print("desk users add: the two passwords differ", file=sys.stderr)
            return None
    if len(password) < MIN_PASSWORD_LENGTH:
        print(f"desk users add: password: at least {MIN_PASSWORD_LENGTH} characters", file=sys.stderr)
        return None
    return password


def cmd_users_add(args: argparse.Namespace) -> int:
    settings = _settings({})
    configure_logging(settings.log_level, settings.log_json)
    if not _require_database(settings):
        return 2
    from ui.auth import create_user

    password = _new_password(args.password_stdin)
    if password is None:
        return 2

    async def save() -> None:
        from core.db import create_pool
        from ledger.schema import migrate

        await migrate(settings.database_url)  # a fresh database: the users table comes with the ledger
        pool = await create_pool(settings.database_url, min_size=1, max_size=1)
        try:
            await create_user(
                pool,
                args.username,
                password,
                Role(args.role),
                args.name or args.username,
                Department(args.department) if args.department else None,
            )
        finally:
            await pool.close()

    asyncio.run(save())
    print(f"user {args.username} ({args.role}) saved; sign in at {settings.public_base_url}/staff")
    return 0


def cmd_healthcheck(args: argparse.Namespace) -> int:
    """For container health checks: quiet, exit 0 healthy / 1 not."""
    settings = _settings({})
    probes = {"worker": _worker_polling, "web": _web_answers, "email-intake": _email_intake_greets}
    try:
        ok = asyncio.run(probes[args.part](settings))
        print("healthy" if ok else "unhealthy", file=sys.stderr)
    except Exception as e:
        print(f"unhealthy: {e!r}", file=sys.stderr)
        ok = False
    _print_calendar_warnings(settings)
    return 0 if ok else 1


def _print_calendar_warnings(settings: Settings) -> None:
    """Healthy or not, a year whose holiday schedule is not confirmed is said (it does not fail the check)."""
    from starters.calendars import warnings_for

    try:
        for line in asyncio.run(warnings_for(settings)):
            print(f"warning: {line}", file=sys.stderr)
    except Exception as e:  # the probe's answer stands; say why the calendar could not be checked
        print(f"warning: business calendar not checked: {e!r}", file=sys.stderr)


def cmd_calendar(args: argparse.Namespace) -> int:
    from starters import calendar_cli

    return _exit_code(_run(calendar_cli.main(args.args)))


async def _worker_polling(settings: Settings) -> bool:
    """True when a worker on *this* host polls the task queue (the SDK's identity is pid@hostname)."""
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

    from core.temporal import connect

    client = await connect(settings)
    resp = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=settings.temporal_namespace,
            task_queue=TaskQueue(name=settings.task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    suffix = "@" + socket.gethostname()
    return any(p.identity.endswith(suffix) for p in resp.pollers)


async def _web_answers(settings: Settings) -> bool:
    import httpx

    async with httpx.AsyncClient(timeout=3.0) as http:
        url = f"http://{dial_host(settings.web_host)}:{settings.web_port}/healthz"
        return (await http.get(url)).status_code == 200


async def _email_intake_greets(settings: Settings) -> bool:
    """True when the inbound SMTP endpoint answers with its 220 greeting (then QUIT: no complaint made)."""
    from desk.stack import smtp_greets

    return await smtp_greets(
        f"{dial_host(settings.email_intake_host)}:{settings.email_intake_port}", timeout=3.0
    )


# ------------------------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="desk",
        description="Complaint desk: durable response-time rules on Temporal.",
        epilog="Settings: DESK_* environment variables or a .env file (see .env.example).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = sub.add_parser("up", help="run the whole product locally (embedded Temporal + PostgreSQL)")
    up.add_argument("--data-dir", type=Path, help="where all state lives (DESK_DATA_DIR, default .data)")
    up.add_argument("--temporal-port", type=int, help="Temporal gRPC port (DESK_TEMPORAL_PORT, default 7233)")
    up.add_argument("--ui-port", type=int, help="Temporal Web UI port (DESK_TEMPORAL_UI_PORT, default 8233)")
    up.add_argument("--web-host", help="web app bind address (DESK_WEB_HOST, default 127.0.0.1)")
    up.add_argument("--web-port", type=int, help="web app port (DESK_WEB_PORT, default 8000)")
    up.add_argument("--smtp-port", type=int, help="SMTP sink port (DESK_SMTP_PORT, default 8025)")
    up.add_argument(
        "--email-intake-port",
        type=int,
        help="inbound e-mail (SMTP) port: each message becomes a complaint (DESK_EMAIL_INTAKE_PORT, default 2525)",
    )
    up.set_defaults(func=cmd_up)

    sub.add_parser("worker", help="run the worker (DESK_TEMPORAL_ADDRESS, DESK_DATABASE_URL)").set_defaults(
        func=cmd_worker
    )

    web = sub.add_parser("web", help="run the web app (DESK_TEMPORAL_ADDRESS, DESK_DATABASE_URL)")
    web.add_argument("--host", help="bind address (DESK_WEB_HOST)")
    web.add_argument("--port", type=int, help="port (DESK_WEB_PORT)")
    web.set_defaults(func=cmd_web)

    mail = sub.add_parser(
        "email-intake",
        help="receive complaints by e-mail on an SMTP port (DESK_EMAIL_INTAKE_PORT)",
    )
    mail.add_argument("--host", help="bind address (DESK_EMAIL_INTAKE_HOST, default 127.0.0.1)")
    mail.add_argument("--port", type=int, help="port (DESK_EMAIL_INTAKE_PORT, default 2525)")
    mail.add_argument(
        "--recipients", help="accepted addresses, comma list (DESK_EMAIL_INTAKE_RECIPIENTS; default any)"
    )
    mail.set_defaults(func=cmd_email_intake)

    sub.add_parser("migrate", help="apply the ledger migrations to DESK_DATABASE_URL").set_defaults(
        func=cmd_migrate
    )

    submit = sub.add_parser("submit", help="file a complaint from the command line", add_help=False)
    submit.add_argument("args", nargs=argparse.REMAINDER, help="see `desk submit --help`")
    submit.set_defaults(func=cmd_submit)

    imp = sub.add_parser("import-csv", help="import complaints from a CSV file")
    imp.add_argument("path", type=Path, help="CSV file (UTF-8 or GB18030), one complaint per row")
    imp.add_argument("--report", type=Path, help="write a per-row result CSV here")
    imp.add_argument("--concurrency", type=int, help="complaints filed at once (default 4)")
    imp.set_defaults(func=cmd_import_csv)

    sim = sub.add_parser(
        "simulate", help="run a scenario file through the real workflow in seconds (see docs/scenarios.md)"
    )
    sim.add_argument("scenario", type=Path, help="scenario YAML file; prints the JSON timeline")
    sim.set_defaults(func=cmd_simulate)

    bench = sub.add_parser("bench", help="benchmarks (see docs/benchmarks.md)", add_help=False)
    bench.add_argument("args", nargs=argparse.REMAINDER)
    bench.set_defaults(func=cmd_bench)

    i18n = sub.add_parser(
        "i18n",
        help="check the UI's catalogues / import a branch's ZH, EN dicts (ui/catalogues.py)",
        add_help=False,
    )
    i18n.add_argument("args", nargs=argparse.REMAINDER)
    i18n.set_defaults(func=cmd_i18n)

    codec = sub.add_parser(
        "codec-server", help="serve the payload codec for the Temporal Web UI (bearer token)"
    )
    codec.add_argument("--host", help="bind address (DESK_CODEC_HOST)")
    codec.add_argument("--port", type=int, help="port (DESK_CODEC_PORT)")
    codec.set_defaults(func=cmd_codec_server)

    users = sub.add_parser("users", help="staff logins (DESK_DATABASE_URL)")
    users_sub = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    add = users_sub.add_parser(
        "add",
        help="add a staff login, or set an existing one's password, name and role",
        description="The password is asked on the terminal, or read as one line from stdin "
        f"(--password-stdin); at least {MIN_PASSWORD_LENGTH} characters.",
    )
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=sorted(r.value for r in STAFF_ROLES))
    add.add_argument("--name", help="display name (default: the user name)")
    add.add_argument("--department", choices=[d.value for d in Department])
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.set_defaults(func=cmd_users_add)
    whatif = sub.add_parser("what-if", help="replay a period's complaints under a proposed policy", add_help=False)
    whatif.add_argument("args", nargs=argparse.REMAINDER)
    whatif.set_defaults(func=cmd_what_if)
    cal = sub.add_parser("calendar", help="business calendar: show, import FILE.ics", add_help=False)
    cal.add_argument("args", nargs=argparse.REMAINDER)
    cal.set_defaults(func=cmd_calendar)

    health = sub.add_parser(
        "healthcheck", help="exit 0 if this host's worker polls / web app / e-mail intake answers"
    )
    health.add_argument("part", choices=["worker", "web", "email-intake"])
    health.set_defaults(func=cmd_healthcheck)
    return parser


# Commands whose options belong to another module: everything after the name is passed through as is
# (argparse's REMAINDER would still take a leading `--help` or `--n` for one of ours).
_PASS_THROUGH = {"submit": cmd_submit, "bench": cmd_bench, "i18n": cmd_i18n, "calendar": cmd_calendar, "what-if": cmd_what_if}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in _PASS_THROUGH:
            return _PASS_THROUGH[argv[0]](argparse.Namespace(args=argv[1:]))
        args = build_parser().parse_args(argv)
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    finally:
        # Temporal clients, workers and runtimes caught in reference cycles would otherwise be freed while the
        # interpreter finalizes, when their native threads can no longer take the GIL: `Fatal Python error:
        # PyGILState_Release` (exit 134) in about 1 run of 8 of `desk simulate`. Free them while it is whole.
        gc.collect()


if __name__ == "__main__":
    sys.exit(main())
