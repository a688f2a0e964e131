"""docker-compose.yml and .env.example, checked without Docker (none on these machines): pinned official
images, health checks, start order, worker replicas, and DESK_ variables that the code really reads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from core.settings import Settings
from domain import search_attributes

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict] = COMPOSE["services"]
ONE_SHOT = {"ledger-setup", "temporal-admin-tools", "temporal-setup", "migrate"}  # run to completion
LONG_RUNNING = set(SERVICES) - ONE_SHOT
OUR_IMAGES = {spec.get("image") for spec in SERVICES.values() if "build" in spec}
SETTINGS_ENV = {f"DESK_{name.upper()}" for name in Settings.model_fields}
_TYPE_NAMES = {
    "KEYWORD": "Keyword",
    "KEYWORD_LIST": "KeywordList",
    "INT": "Int",
    "DATETIME": "Datetime",
    "TEXT": "Text",
    "FLOAT": "Double",
    "BOOL": "Bool",
}


def _image(service: str) -> str:
    return SERVICES[service].get("image", "")


def _env(service: str) -> dict[str, str]:
    env = SERVICES[service].get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def _command(service: str) -> str:
    cmd = SERVICES[service].get("command", "")
    return "\n".join(cmd) if isinstance(cmd, list) else str(cmd)


def test_stack_has_every_part_of_the_production_like_setup():
    assert {"postgresql", "temporal", "temporal-ui", "worker", "web", "email-intake"} <= set(SERVICES)
    assert _image("temporal").startswith("temporalio/server:")
    assert _image("temporal-ui").startswith("temporalio/ui:")
    assert _image("temporal-admin-tools").startswith("temporalio/admin-tools:")
    assert _image("postgresql").startswith("postgres:")
    assert all("auto-setup" not in _image(s) for s in SERVICES), "temporalio/auto-setup is deprecated"


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_images_are_pinned_to_a_version(service):
    image = _image(service)
    if image in OUR_IMAGES:  # our own image, built from the Dockerfile (its base is checked below)
        return
    assert image, f"{service} has neither image nor build"
    name, _, tag = image.rpartition(":")
    assert name and re.fullmatch(r"\d+(\.\d+)+(-[\w.]+)?", tag), (
        f"{service}: {image} is not pinned to a version"
    )


def test_our_image_is_built_once_and_shared():
    built = [s for s, spec in SERVICES.items() if "build" in spec]
    assert built, "one service builds the Dockerfile"
    ours = {_image(s) for s in built}
    assert len(ours) == 1
    for service in ("worker", "web", "email-intake", "migrate"):
        assert _image(service) in ours
    from_line = next(
        line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("FROM")
    )
    assert re.search(r":\d+\.\d+\.\d+", from_line), f"Dockerfile base image not pinned: {from_line}"


@pytest.mark.parametrize("service", sorted(LONG_RUNNING))
def test_long_running_services_have_health_checks(service):
    check = SERVICES[service].get("healthcheck")
    assert check and check.get("test"), f"{service} has no health check"
    assert not check.get("disable")


def test_temporal_uses_the_postgresql_service():
    env = _env("temporal")
    assert env["DB"] == "postgres12"
    assert env["POSTGRES_SEEDS"] == "postgresql"
    assert "--plugin postgres12 --ep postgresql" in _command("temporal-admin-tools")
    for db in ("temporal", "temporal_visibility"):
        assert f"--db {db} setup-schema" in _command("temporal-admin-tools")
        assert f"--db {db} update-schema" in _command("temporal-admin-tools")


def test_start_order_waits_on_health_and_on_setup_jobs():
    def condition(service: str, dependency: str) -> str:
        deps = SERVICES[service].get("depends_on") or {}
        assert isinstance(deps, dict), f"{service}: depends_on needs conditions, not a bare list"
        return deps[dependency]["condition"]

    assert condition("temporal-admin-tools", "postgresql") == "service_healthy"
    assert condition("temporal", "temporal-admin-tools") == "service_completed_successfully"
    assert condition("temporal-setup", "temporal") == "service_healthy"
    assert condition("temporal-ui", "temporal") == "service_healthy"
    for app in ("worker", "web", "email-intake"):
        assert condition(app, "temporal-setup") == "service_completed_successfully"
        assert condition(app, "migrate") == "service_completed_successfully"
    assert condition("migrate", "ledger-setup") == "service_completed_successfully"
    assert condition("ledger-setup", "postgresql") == "service_healthy"


def test_every_search_attribute_is_created_with_its_type():
    """Each attribute as NAME:Type, created one per call (the CLI pairs each --name with its own --type:
    one --type for several names adds only the first), then verified by name."""
    setup = _command("temporal-setup")
    assert '--name "$${pair%%:*}" --type "$${pair##*:}"' in setup
    created, verified = setup.split("for name in", 1)
    for key in search_attributes.ALL:
        kind = _TYPE_NAMES[key.indexed_value_type.name]
        assert re.search(rf"\b{key.name}:{kind}\b", created), f"{key.name} is not created as {kind}"
        assert re.search(rf"\b{key.name}\b", verified), f"{key.name} is not verified"


def test_workers_scale_out_and_drain_on_stop():
    worker = SERVICES["worker"]
    assert worker["deploy"]["replicas"] >= 2
    assert "ports" not in worker, "replicas cannot share a published port"
    assert worker["command"][:2] == ["desk", "worker"]
    from workers.main import GRACEFUL_SHUTDOWN

    grace = worker["stop_grace_period"]
    assert grace.endswith("s") and int(grace[:-1]) > GRACEFUL_SHUTDOWN.total_seconds()


def test_web_app_is_published_and_checked_through_the_cli():
    web = SERVICES["web"]
    assert web["command"][:2] == ["desk", "web"]
    assert any(str(p).endswith(":8000") for p in web["ports"])
    assert web["healthcheck"]["test"] == ["CMD", "desk", "healthcheck", "web"]
    assert SERVICES["worker"]["healthcheck"]["test"] == ["CMD", "desk", "healthcheck", "worker"]


def test_email_intake_listens_on_all_interfaces_on_its_published_port():
    mail = SERVICES["email-intake"]
    assert mail["command"][:2] == ["desk", "email-intake"]
    env = _env("email-intake")
    assert env["DESK_EMAIL_INTAKE_HOST"] == "0.0.0.0"
    port = env["DESK_EMAIL_INTAKE_PORT"]
    flags = dict(zip(mail["command"][2::2], mail["command"][3::2], strict=True))
    assert flags.get("--port", port) == port and flags.get("--host", "0.0.0.0") == "0.0.0.0"
    assert any(str(p).endswith(f":{port}") for p in mail["ports"])
    assert mail["healthcheck"]["test"] == ["CMD", "desk", "healthcheck", "email-intake"]


@pytest.mark.parametrize("service", ["worker", "web", "email-intake"])
def test_desk_health_checks_probe_the_part_the_service_runs(service):
    """`desk healthcheck PART` must be a part the CLI knows (argparse exits 2 otherwise: always unhealthy)."""
    from desk.cli import build_parser

    test = SERVICES[service]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "desk", "healthcheck"]
    assert build_parser().parse_args(test[2:]).part == SERVICES[service]["command"][1] == service


@pytest.mark.parametrize("service", ["worker", "web", "email-intake", "migrate"])
def test_desk_variables_are_real_settings(service):
    env = _env(service)
    desk_vars = {k for k in env if k.startswith("DESK_")}
    assert {"DESK_TEMPORAL_ADDRESS", "DESK_DATABASE_URL", "DESK_SECRET_KEY"} <= desk_vars
    unknown = desk_vars - SETTINGS_ENV
    assert not unknown, f"{service}: {sorted(unknown)} are not fields of core/settings.py"
    assert env["DESK_TEMPORAL_ADDRESS"] == "temporal:7233"
    assert "@postgresql:5432/" in env["DESK_DATABASE_URL"]


def test_env_example_documents_every_setting():
    text = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*(DESK_[A-Z_]+)=", text, flags=re.M))
    assert SETTINGS_ENV - documented == set(), "add these to .env.example"
    assert documented - SETTINGS_ENV == set(), "these are not settings (any more)"


@pytest.mark.parametrize("service", ["worker", "web", "email-intake"])
def test_safe_by_default_no_demo_logins_and_secrets_required(service):
    env = _env(service)
    assert env["DESK_DEMO_USERS"] == "${DESK_DEMO_USERS:-false}"
    for required in ("DESK_SECRET_KEY", "DESK_CODEC_KEYS"):  # compose refuses to start without them
        assert re.fullmatch(r"\$\{" + required + r":\?[^}]+\}", env[required]), env[required]


def test_web_ui_decodes_through_the_web_apps_codec_endpoint_with_the_staff_session():
    env = _env("temporal-ui")
    assert env["TEMPORAL_CODEC_ENDPOINT"].endswith(":-http://localhost:8000/codec}")
    assert env["TEMPORAL_CODEC_INCLUDE_CREDENTIALS"] == "true"


def test_readme_and_compose_say_how_to_create_the_first_admin_with_a_real_command():
    from desk.cli import build_parser

    readme = (ROOT / "README.md").read_text()
    compose_text = (ROOT / "docker-compose.yml").read_text()
    for text in (readme, compose_text):
        command = re.search(r"docker compose exec web (desk users add [^\n#`]+)", text)
        assert command, "no `desk users add` for the first admin"
        args = build_parser().parse_args(command.group(1).split()[1:])
        assert (args.users_command, args.role) == ("add", "admin")
