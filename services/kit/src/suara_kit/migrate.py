"""Alembic, shared: each service keeps its own `migrations/` folder and calls these."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import async_engine_from_config


def alembic_config(script_location: Path, url: str) -> Config:
    """An Alembic config for one service's migrations and database."""
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    return cfg


_scripts: dict[tuple[str, ...], ScriptDirectory] = {}


def _script_directory(cfg: Config, script_location: Path) -> ScriptDirectory:
    """Alembic's view of a migrations folder, kept while its revision files stay the same
    (reading it imports every revision file: most of the cost of an upgrade with nothing to
    do, which every service start and every test pays)."""
    versions = script_location / "versions"
    key = (str(script_location.resolve()), *sorted(
        f"{entry.name}:{entry.stat().st_mtime_ns}:{entry.stat().st_size}"
        for entry in os.scandir(versions) if entry.name.endswith(".py"))
    ) if versions.is_dir() else (str(script_location.resolve()),)
    script = _scripts.get(key)
    if script is None:
        script = _scripts[key] = ScriptDirectory.from_config(cfg)
    return script


def upgrade(script_location: Path, url: str) -> None:
    """Bring a service's database to the newest revision (blocking; run in a thread).
    What `alembic upgrade head` does, with the folder read once per process."""
    cfg = alembic_config(script_location, url)
    script = _script_directory(cfg, script_location)
    with EnvironmentContext(cfg, script, destination_rev="head",
                            fn=lambda rev, _: script._upgrade_revs("head", rev)):
        script.run_env()


async def upgrade_async(script_location: Path, url: str) -> None:
    """`upgrade` off the event loop (Alembic's env runs its own loop)."""
    await asyncio.to_thread(upgrade, script_location, url)


# PostgreSQL advisory lock taken around migrations: replicas of a service that start together
# migrate one at a time; the later ones then find the database at head and do nothing. Before,
# all ran the same DDL at once and all but one crashed (and were restarted). The key is any
# constant; advisory locks are per database, so services never wait for each other.
MIGRATION_LOCK = 0x5355415241  # "SUARA"


def _do_run(connection: Connection, metadata: MetaData) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # held until this transaction ends; Alembic reads the current revision after it
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                               {"key": MIGRATION_LOCK})
        context.run_migrations()


async def _run_online(metadata: MetaData) -> None:
    section = context.config.get_section(context.config.config_ini_section, {})
    engine = async_engine_from_config(section, prefix="sqlalchemy.", poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(_do_run, metadata)
    await engine.dispose()


def run_env(metadata: MetaData) -> None:
    """Body of every service's `migrations/env.py`."""
    if context.is_offline_mode():
        context.configure(url=context.config.get_main_option("sqlalchemy.url"),
                          target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
    else:
        asyncio.run(_run_online(metadata))


def new_revision(script_location: Path, message: str) -> None:
    """Autogenerate a revision by diffing the models against a fresh, fully migrated database."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/autogen.sqlite"
        upgrade(script_location, url)
        command.revision(alembic_config(script_location, url), message=message, autogenerate=True)


if __name__ == "__main__":
    import importlib
    import sys

    if len(sys.argv) != 3:
        raise SystemExit("usage: python -m suara_kit.migrate <package, e.g. suara_intake> <message>")
    handlers = importlib.import_module(f"{sys.argv[1]}.handlers")
    new_revision(handlers.MIGRATIONS, sys.argv[2])
