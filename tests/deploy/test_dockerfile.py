"""deploy/docker/Dockerfile, read as text (no Docker engine runs here, so nothing is built):
one target per process, a pinned base, installs from uv.lock only, a runtime stage that gets
the virtualenv and nothing else, a numeric non-root user, exec-form entry points and health
checks that name real modules, and a build context that keeps local state and secrets out."""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from suara_kit import probe

from .targets import DEPLOY, PROCESSES, ROOT

DOCKERFILE = DEPLOY / "docker" / "Dockerfile"
BASE = re.compile(r"python:3\.11\.\d+-slim-bookworm@sha256:[0-9a-f]{64}")


@dataclass
class Stage:
    name: str
    parent: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


def parse() -> tuple[dict[str, str], dict[str, Stage]]:
    """Global ARG defaults, and the stages by name (continuation lines joined)."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    args: dict[str, str] = {}
    stages: dict[str, Stage] = {}
    current: Stage | None = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        keyword, rest = keyword.upper(), " ".join(rest.split())
        if keyword == "FROM":
            image, _, name = rest.partition(" AS ")
            current = stages[name] = Stage(name, image)
        elif current is None:
            assert keyword == "ARG", f"before the first FROM: {line}"
            name, _, default = rest.partition("=")
            args[name] = default
        else:
            current.instructions.append((keyword, rest))
    return args, stages


def chain(stages: dict[str, Stage], name: str) -> list[Stage]:
    """A stage and the stages it is built FROM, nearest first."""
    found = [stages[name]]
    while found[-1].parent in stages:
        found.append(stages[found[-1].parent])
    return found


def exec_form(text: str) -> list[str]:
    value = json.loads(text)
    assert isinstance(value, list), f"not exec form: {text}"
    assert all(isinstance(v, str) for v in value)
    return value


def member_of(module: str) -> tuple[str, Path]:
    """The workspace member that ships `module`: its distribution name and folder."""
    for pyproject in [*ROOT.glob("services/*/pyproject.toml"), ROOT / "gateway/pyproject.toml",
                      ROOT / "contracts/pyproject.toml"]:
        if (pyproject.parent / "src" / module).is_dir():
            return tomllib.loads(pyproject.read_text())["project"]["name"], pyproject.parent
    raise AssertionError(f"no workspace member ships {module}")


def test_the_base_image_is_pinned_by_exact_tag_and_digest() -> None:
    args, stages = parse()
    assert BASE.fullmatch(args["PYTHON_IMAGE"]), args["PYTHON_IMAGE"]
    for stage in stages.values():
        assert stage.parent in stages or stage.parent == "${PYTHON_IMAGE}", stage.name


def test_uv_is_the_version_the_makefile_bootstraps() -> None:
    _, stages = parse()
    makefile = (ROOT / "Makefile").read_text()
    wanted = re.search(r"^UV_VERSION := (\S+)$", makefile, flags=re.M)
    assert wanted
    assert f"UV_VERSION={wanted.group(1)}" in stages["build"].all("ARG")


@pytest.mark.parametrize("target", list(PROCESSES))
def test_each_process_has_its_own_image_target(target: str) -> None:
    module = PROCESSES[target][0]
    distribution, folder = member_of(module)
    _, stages = parse()
    image = stages[target]
    runtime = chain(stages, target)
    assert [s.name for s in runtime] == [target, "runtime"]
    build = stages[f"build-{target}"]
    assert build.parent == "build"

    # installs exactly what uv.lock says, for this package only, as installed (not editable)
    syncs = [args for args in build.all("RUN") if "uv sync" in args]
    assert len(syncs) == 2
    for sync in syncs:
        flags = sync.split("uv sync", 1)[1].split()
        assert {"--frozen", "--no-dev", "--no-editable"} <= set(flags), sync
        assert flags[flags.index("--package") + 1] == distribution
    assert "--no-install-workspace" in syncs[0]  # dependencies first, a layer of their own
    copied = [args.split()[0] for args in build.all("COPY")]
    assert f"{folder.relative_to(ROOT)}/src" in copied
    for source in copied:
        assert (ROOT / source).exists(), source

    # the image gets the virtualenv and nothing else
    assert image.all("COPY") == [f"--from=build-{target} /opt/suara/venv /opt/suara/venv"]
    assert not image.all("RUN")

    # a numeric, non-root user, set where the runtime stage starts
    users = [u for stage in runtime for u in stage.all("USER")]
    assert users
    uid, _, gid = users[0].partition(":")
    assert uid.isdigit()
    assert int(uid) >= 1000
    assert gid.isdigit()

    # python started directly (no shell), on the module that exists
    entrypoint = exec_form(image.all("ENTRYPOINT")[0])
    assert entrypoint == ["/opt/suara/venv/bin/python", "-m", module]
    assert importlib.util.find_spec(f"{module}.__main__") is not None
    assert not image.all("CMD")

    # a health check that runs the probe (exec form: the image has no shell to need)
    (healthcheck,) = image.all("HEALTHCHECK")
    options, _, command = healthcheck.partition(" CMD ")
    assert re.fullmatch(r"(--[a-z-]+=\w+ ?)+", options), options
    command_line = exec_form(command)
    assert command_line[:3] == ["/opt/suara/venv/bin/python", "-m", "suara_kit.probe"]
    if target == "gateway":
        assert command_line[3:] == ["http", "http://127.0.0.1:8000/healthz"]
        assert "SUARA_GATEWAY_HOST=0.0.0.0" in " ".join(image.all("ENV"))
    else:
        assert command_line[3:] == ["ready", target]
        assert target in probe.LONG_NAMES


def test_the_runtime_stage_is_read_only_friendly() -> None:
    _, stages = parse()
    runtime = stages["runtime"]
    env = " ".join(runtime.all("ENV"))
    assert "PYTHONDONTWRITEBYTECODE=1" in env  # bytecode is compiled at build (UV_COMPILE_BYTECODE)
    assert "SUARA_VAR_DIR=/var/lib/suara" in env  # only SQLite (single machine) writes there
    assert "SUARA_ENV=production" in env  # development secrets are refused unless overridden
    assert "UV_COMPILE_BYTECODE=1" in " ".join(stages["build"].all("ENV"))
    assert runtime.all("USER") == ["10001:10001"]


def test_the_development_issuer_has_no_image() -> None:
    _, stages = parse()
    text = DOCKERFILE.read_text()
    assert "suara-devissuer" not in " ".join(
        args for stage in stages.values() for args in stage.all("RUN"))
    assert "-m suara_devissuer" not in text
    assert set(stages) == {"build", "runtime", *PROCESSES, *(f"build-{p}" for p in PROCESSES)}


def test_the_build_context_keeps_state_and_secrets_out() -> None:
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    assert not [p for p in patterns if p.startswith("!")]

    def ignored(path: str) -> bool:
        parts = path.split("/")
        return any(fnmatch.fnmatch(path, p.removeprefix("**/"))
                   or (p.startswith("**/") and any(fnmatch.fnmatch(part, p[3:]) for part in parts))
                   or any(fnmatch.fnmatch("/".join(parts[:i]), p) for i in range(1, len(parts)))
                   for p in patterns)

    for path in [".git", ".venv/bin/python", "var/db/intake.sqlite", ".env",
                 "deploy/compose/.env", "services/intake/tests/test_x.py", "tests/e2e/x.py",
                 "gateway/src/suara_gateway/__pycache__/app.cpython-311.pyc", ".tools/bin/uv"]:
        assert ignored(path), path
    _, stages = parse()
    for stage in stages.values():
        for args in stage.all("COPY"):
            if args.startswith("--from"):
                continue
            *sources, _ = args.split()
            for source in sources:
                assert not ignored(source), f"{source} is copied but left out of the context"
                assert not ignored(f"{source}/x.py"), source
