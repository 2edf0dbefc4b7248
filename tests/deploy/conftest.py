"""Shared by the deployment tests: a check that an environment written in a deployment file is
one the processes accept in production."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from pydantic_settings import BaseSettings

from .targets import PROCESSES, accepted_names


@pytest.fixture
def production_settings(monkeypatch: pytest.MonkeyPatch
                        ) -> Callable[[str, dict[str, str]], BaseSettings]:
    """Build `process`'s settings from exactly `env` (nothing else of this machine's SUARA_*),
    after checking that every SUARA_ variable in it is one the process reads: the settings
    then refuse, as in production, any secret left at its development default."""

    def build(process: str, env: dict[str, str]) -> BaseSettings:
        settings = PROCESSES[process][1]
        unknown = {n for n in env if n.startswith("SUARA_")} - accepted_names(settings)
        assert not unknown, f"{process}: no setting reads {sorted(unknown)}"
        for name in list(os.environ):
            if name.startswith("SUARA_"):
                monkeypatch.delenv(name)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        built = settings()
        assert built.env == "production", f"{process} does not run with SUARA_ENV=production"
        return built

    return build
