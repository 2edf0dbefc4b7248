"""deploy/compose/compose.yaml against the Compose Specification's JSON schema, and what the
schema cannot say: every Suara container read-only, non-root, health-checked; NATS a three-node
cluster that every client reaches; secrets only from .env, whose example holds none; each
process's environment one that its settings accept in production.

The schema is the compose-spec project's `compose-spec.json` as vendored by the
check-jsonschema package (a dev dependency, pinned in uv.lock): nothing is downloaded here."""

from __future__ import annotations

import copy
import importlib.metadata
import importlib.resources
import importlib.util
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import validators
from pydantic_settings import BaseSettings

from suara_kit import messaging, probe

from .targets import DEPLOY, PROCESSES, SERVICES

COMPOSE = DEPLOY / "compose"
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")
SECRET_NAME = re.compile(r"(^|_)(KEY|KEYS|PASSWORD|SECRET|TOKEN)(_|$)|DATABASE_URL|SMTP_URL")
NATS_NODES = ["nats-1", "nats-2", "nats-3"]


def compose_schema() -> dict[str, Any]:
    vendor = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    return json.loads((vendor / "compose-spec.json").read_text())


def load() -> dict[str, Any]:
    return yaml.safe_load((COMPOSE / "compose.yaml").read_text())


def env_example() -> dict[str, str]:
    values = {}
    for line in (COMPOSE / ".env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name] = value
    return values


class Unset(Exception):
    """A `${NAME:?…}` with NAME empty: compose refuses to start."""


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's variable substitution, for the forms this file uses: ${X}, ${X:-d}, ${X-d},
    ${X:?err}, ${X?err}; `$$` stays a literal dollar."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        present = name in env and (env[name] != "" or op in ("-", "?"))
        if present:
            return env[name]
        if op in (":?", "?"):
            raise Unset(name)
        return arg if op else ""

    parts = value.split("$$")
    return "$".join(VARIABLE.sub(one, part) for part in parts)


def validate(document: dict[str, Any]) -> list[str]:
    schema = compose_schema()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(document)]


def filled_env() -> dict[str, str]:
    """.env as deploy/compose/make-env.py writes it."""
    spec = importlib.util.spec_from_file_location("make_env", COMPOSE / "make-env.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = module.filled((COMPOSE / ".env.example").read_text())
    return dict(line.split("=", 1) for line in text.splitlines()
                if line.strip() and not line.startswith("#"))


def test_the_schema_is_the_vendored_compose_spec() -> None:
    schema = compose_schema()
    assert schema["title"] == "Compose Specification"
    assert "services" in schema["properties"]
    assert importlib.metadata.version("check-jsonschema")  # pinned by uv.lock


def test_compose_file_matches_the_compose_specification() -> None:
    assert validate(load()) == []


def test_after_substitution_it_still_matches() -> None:
    assert validate(interpolate(load(), filled_env())) == []


def test_the_schema_check_is_not_vacuous() -> None:
    wrong = copy.deepcopy(load())
    wrong["services"]["gateway"]["readonly"] = True  # a typo compose would reject
    wrong["services"]["intake"]["healthcheck"]["interval"] = ["15s"]
    errors = validate(wrong)
    assert any("readonly" in e for e in errors)
    assert any(e.startswith("services/intake/healthcheck/interval") for e in errors)


@pytest.mark.parametrize("name", list(PROCESSES))
def test_every_suara_container_is_locked_down(name: str) -> None:
    service = load()["services"][name]
    assert service["read_only"] is True
    uid, _, gid = str(service["user"]).partition(":")
    assert uid.isdigit()
    assert int(uid) > 0
    assert gid.isdigit()
    assert int(gid) > 0
    assert service["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in service["security_opt"]
    assert [t.split(":")[0] for t in service["tmpfs"]] == ["/tmp"], "only /tmp is writable"
    assert not service.get("volumes"), "a Suara container keeps nothing on disk"
    assert service["build"]["target"] == name
    assert service["build"]["dockerfile"] == "deploy/docker/Dockerfile"
    assert (COMPOSE / service["build"]["context"] / service["build"]["dockerfile"]).is_file()


@pytest.mark.parametrize("name", list(PROCESSES))
def test_every_suara_container_has_a_real_healthcheck(name: str) -> None:
    test = load()["services"][name]["healthcheck"]["test"]
    assert test[:4] == ["CMD", "/opt/suara/venv/bin/python", "-m", "suara_kit.probe"]
    if name == "gateway":
        assert test[4:] == ["http", "http://127.0.0.1:8000/healthz"]
    else:
        assert test[4:] == ["ready", name]
        assert name in probe.LONG_NAMES


def test_every_dependency_waited_for_can_say_it_is_healthy() -> None:
    services = load()["services"]
    for name, service in services.items():
        for needed, how in (service.get("depends_on") or {}).items():
            assert needed in services, f"{name} depends on unknown {needed}"
            if how["condition"] == "service_healthy":
                assert "healthcheck" in services[needed], f"{needed} has no healthcheck"
    for name in SERVICES:
        needs = services[name]["depends_on"]
        for node in [*NATS_NODES, "postgres"]:
            assert needs[node] == {"condition": "service_healthy"}, (name, node)
    gateway = services["gateway"]["depends_on"]
    for needed in [*NATS_NODES, "keycloak", *SERVICES]:
        assert gateway[needed] == {"condition": "service_healthy"}, needed


def test_nats_is_a_three_node_jetstream_cluster_every_client_reaches() -> None:
    doc = load()
    services = doc["services"]
    nats_services = [n for n, s in services.items() if str(s.get("image", "")).startswith("nats:")]
    assert nats_services == NATS_NODES
    config = (COMPOSE / "nats.conf").read_text()
    routes = re.findall(r"nats-route://([\w-]+):6222", config)
    assert sorted(routes) == NATS_NODES
    assert "jetstream" in config
    assert "store_dir: /data" in config
    for node in NATS_NODES:
        service = services[node]
        assert re.fullmatch(r"nats:\d+\.\d+\.\d+-alpine", service["image"])
        assert service["environment"] == {"NATS_SERVER_NAME": node}
        assert f"{node}:/data" in service["volumes"], f"{node}: its own JetStream store"
        assert node in doc["volumes"]
        assert "./nats.conf:/etc/nats/nats.conf:ro" in service["volumes"]
    # every process names the three nodes (suara_kit.messaging.servers), so it starts and
    # reconnects while any one of them is down
    for name in PROCESSES:
        env = services[name]["environment"]
        assert messaging.servers(env["SUARA_NATS_URL"]) == [
            f"nats://{node}:4222" for node in NATS_NODES], name
        assert env["SUARA_NATS_REPLICAS"] == "3", name


def test_postgres_has_a_database_per_service_and_each_service_uses_its_own() -> None:
    services = load()["services"]
    script = (COMPOSE / "postgres" / "init-databases.sh").read_text()
    created = re.findall(r"^create (\w+) ", script, flags=re.M)
    assert sorted(created) == sorted([*SERVICES, "keycloak"])
    mount = [v for v in services["postgres"]["volumes"] if "init-databases.sh" in v]
    assert mount
    assert mount[0].split(":")[1].startswith("/docker-entrypoint-initdb.d/")
    for name in SERVICES:
        prefix = f"SUARA_{name.upper()}"
        url = services[name]["environment"][f"{prefix}_DATABASE_URL"]
        assert re.fullmatch(rf"postgresql\+asyncpg://{name}:\$\{{{prefix}_DB_PASSWORD:\?[^}}]+\}}"
                            rf"@postgres:5432/{name}", url), url


def test_keycloak_imports_the_realm_and_the_gateway_trusts_it() -> None:
    services = load()["services"]
    keycloak = services["keycloak"]
    assert re.fullmatch(r"quay\.io/keycloak/keycloak:\d+\.\d+\.\d+", keycloak["image"])
    assert "--import-realm" in keycloak["command"]
    realm = next(v for v in keycloak["volumes"] if "realm-suara.json" in v)
    assert (COMPOSE / realm.split(":")[0]).resolve() == DEPLOY / "keycloak" / "realm-suara.json"
    env = services["gateway"]["environment"]
    assert env["SUARA_GATEWAY_OIDC_ISSUER"].endswith("/realms/suara")
    assert env["SUARA_GATEWAY_OIDC_JWKS_URL"].startswith("http://keycloak:8080/realms/suara/")


def test_the_collector_has_its_config_and_every_process_sends_to_it() -> None:
    services = load()["services"]
    collector = services["otel-collector"]
    assert re.fullmatch(r"otel/opentelemetry-collector-contrib:\d+\.\d+\.\d+", collector["image"])
    config = yaml.safe_load((COMPOSE / "otel-collector.yaml").read_text())
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(":4318")
    assert config["service"]["pipelines"]["traces"]["receivers"] == ["otlp"]
    for name in PROCESSES:
        assert services[name]["environment"]["SUARA_OTLP_ENDPOINT"] == (
            "http://otel-collector:4318/v1/traces")


def test_every_image_is_pinned_to_an_exact_version() -> None:
    env = filled_env()
    for name, service in load()["services"].items():
        image = interpolate(service["image"], env)
        assert "@" not in image, name
        assert ":" in image, name
        tag = image.rsplit(":", 1)[1]
        assert re.fullmatch(r"\d+\.\d+(\.\d+)?(-[a-z][\w.-]*)?", tag), image


def _literal_secrets(value: Any, where: str = "compose") -> list[str]:
    """Places where a secret-named setting has a value written out rather than taken from
    the environment (a database URL may spell out all but its password)."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            if SECRET_NAME.search(str(key)) and not isinstance(item, dict | list):
                text = str(item)
                if str(key).endswith("DATABASE_URL"):
                    ok = re.fullmatch(r"[a-z+]+://\w+:\$\{\w+:\?[^}]*\}@[\w.:/-]+", text)
                else:
                    ok = VARIABLE.fullmatch(text)
                if not ok:
                    found.append(f"{where}.{key}")
            found += _literal_secrets(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _literal_secrets(item, f"{where}[{i}]")
    return found


def test_no_secret_is_written_in_the_compose_file() -> None:
    doc = load()
    assert _literal_secrets(doc) == []
    example = env_example()
    secret_names = {n for n in example if SECRET_NAME.search(n)}
    for name in secret_names:
        assert example[name] in ("", "[]"), f".env.example holds a value for {name}"
    text = (COMPOSE / "compose.yaml").read_text()
    used = set(VARIABLE.findall(text))
    required = {name for name, op, _ in used if op in (":?", "?")}
    assert required == {n for n in secret_names if example[n] == ""}, (
        "every secret must be required (${NAME:?…}) and listed empty in .env.example")
    assert {name for name, _, _ in used} <= set(example), "a variable .env.example lacks"


def test_compose_refuses_to_start_while_a_secret_is_empty() -> None:
    with pytest.raises(Unset):
        interpolate(load(), env_example())
    assert (COMPOSE / ".gitignore").read_text().split() == [".env", "notification.env"]


def test_make_env_fills_every_secret_with_a_fresh_one() -> None:
    first, second = filled_env(), filled_env()
    for name, value in env_example().items():
        if value == "":
            assert len(first[name]) >= 40, name
            assert first[name] != second[name], name
            assert re.fullmatch(r"[A-Za-z0-9_-]+", first[name]), "URL-safe: it goes in URLs"
        else:
            assert first[name] == value


@pytest.mark.parametrize("name", list(PROCESSES))
def test_each_process_accepts_its_environment_in_production(
        name: str, production_settings: Callable[[str, dict[str, str]], BaseSettings]) -> None:
    environment = interpolate(load()["services"][name]["environment"], filled_env())
    settings = production_settings(name, environment)
    if name != "gateway":
        assert settings.database_url.startswith("postgresql+asyncpg://"), name  # type: ignore[attr-defined]
        assert settings.nats_replicas == 3  # type: ignore[attr-defined]


def test_the_init_script_is_executable_posix_shell() -> None:
    script = COMPOSE / "postgres" / "init-databases.sh"
    assert script.read_text().startswith("#!/bin/sh\n")
    assert Path(script).stat().st_mode & 0o111
