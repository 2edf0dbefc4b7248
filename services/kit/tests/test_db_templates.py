"""`database_url` hands out copies of a per-session template per service: the copy must be the
schema the migrations build from scratch, and a changed migrations folder must get a new one."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from suara_kit import migrate
from suara_kit.testing import (
    PG_DSN,
    DatabaseTemplates,
    _pg_url,
    migrations_key,
    service_migrations,
)

SERVICES = ["intake", "cases", "mediation", "notification"]


def plain(value: Any) -> Any:
    """Comparable: containers kept, SQL expressions (e.g. a partial index's WHERE) as text."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value if value is None or isinstance(value, str | int | float | bool) else str(value)


def schema(url: str) -> dict[str, Any]:
    """Everything the inspector sees, plus the revision the database is at."""
    engine = sa.create_engine(url.replace("+aiosqlite", "").replace("+asyncpg", "+psycopg"))
    try:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            tables: dict[str, Any] = {}
            for table in sorted(inspector.get_table_names()):
                tables[table] = plain({
                    "columns": [(c["name"], str(c["type"]), c["nullable"], c.get("default"))
                                for c in inspector.get_columns(table)],
                    "pk": inspector.get_pk_constraint(table),
                    "fks": sorted(map(repr, plain(inspector.get_foreign_keys(table)))),
                    "indexes": sorted(map(repr, plain(inspector.get_indexes(table)))),
                    "uniques": sorted(map(repr, plain(inspector.get_unique_constraints(table)))),
                    "checks": sorted(map(repr, plain(inspector.get_check_constraints(table)))),
                })
            ddl = sorted(  # as SQLite keeps it, each statement's lines in order (Alembic's
                (kind, name, sorted(line.strip().rstrip(",")  # batch mode puts constraints
                                    for line in (sql or "").splitlines()))  # in any order)
                for kind, name, sql in conn.execute(sa.text(
                    "SELECT type, name, sql FROM sqlite_master"))
            ) if conn.dialect.name == "sqlite" else []
            versions = sorted(conn.execute(sa.text("SELECT version_num FROM alembic_version"))
                              .scalars()) if "alembic_version" in tables else []
    finally:
        engine.dispose()
    return {"tables": tables, "ddl": ddl, "versions": versions}


def head(migrations: Path) -> str:
    script = ScriptDirectory.from_config(migrate.alembic_config(migrations, "sqlite://"))
    return str(script.get_current_head())


@pytest.mark.parametrize("service", SERVICES)
def test_a_copy_is_what_the_migrations_build_from_scratch(
        database_url: Callable[..., str], service: str) -> None:
    migrations = service_migrations(service)
    assert migrations is not None
    scratch = database_url(service, empty=True)
    assert schema(scratch)["tables"] == {}  # empty=True really is empty
    migrate.upgrade(migrations, scratch)  # every migration, from nothing
    copy = database_url(service)

    expected = schema(scratch)
    assert expected["versions"] == [head(migrations)]
    assert schema(copy) == expected
    migrate.upgrade(migrations, copy)  # what a service does at start: nothing left to do
    assert schema(copy) == expected


def test_asking_twice_in_a_test(database_url: Callable[..., str], db_backend: str) -> None:
    first = database_url("cases")
    engine = sa.create_engine(first.replace("+aiosqlite", "").replace("+asyncpg", "+psycopg"))
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE kept (x INTEGER)"))
    engine.dispose()
    second = database_url("cases")
    if db_backend == "sqlite":  # the same file, not copied over
        assert second == first
        assert "kept" in schema(second)["tables"]
    else:  # a database of its own, another copy
        assert second != first
        assert "kept" not in schema(second)["tables"]
        assert "case" in schema(second)["tables"]


def test_a_service_without_migrations_gets_an_empty_database(
        database_url: Callable[..., str]) -> None:
    url = database_url("no-such-service")
    if url.startswith("sqlite"):
        assert not Path(url.split("///", 1)[1]).exists()
    else:
        engine = sa.create_engine(url.replace("+asyncpg", "+psycopg"))
        with engine.connect() as conn:
            assert sa.inspect(conn).get_table_names() == []
        engine.dispose()


NEW_REVISION = '''"""canary"""
from alembic import op
import sqlalchemy as sa

revision = "c0ffee000001"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("canary", sa.Column("id", sa.Integer(), primary_key=True))


def downgrade() -> None:
    op.drop_table("canary")
'''


def test_a_new_migration_gets_a_new_template(db_backend: str, tmp_path: Path) -> None:
    source = service_migrations("intake")
    assert source is not None
    migrations = tmp_path / "suara_copy" / "migrations"
    shutil.copytree(source, migrations, ignore=shutil.ignore_patterns("__pycache__"))
    templates = DatabaseTemplates(tmp_path / "templates")
    (tmp_path / "templates").mkdir()

    def template_url() -> str:
        if db_backend == "sqlite":
            return f"sqlite+aiosqlite:///{templates.sqlite(migrations)}"
        return _pg_url(templates.postgresql(migrations))

    def tables(url: str) -> set[str]:
        if db_backend == "sqlite":
            return set(schema(url)["tables"])
        import psycopg  # the template refuses connections: look at a copy

        name = url.rsplit("/", 1)[1]
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}_look" TEMPLATE "{name}"')
            try:
                return set(schema(_pg_url(f"{name}_look"))["tables"])
            finally:
                conn.execute(f'DROP DATABASE "{name}_look" WITH (FORCE)')

    try:
        key = migrations_key(migrations)
        first = template_url()
        assert template_url() == first  # built once
        (migrations / "versions" / "__pycache__").mkdir(exist_ok=True)
        (migrations / "versions" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
        assert migrations_key(migrations) == key  # caches do not count

        (migrations / "versions" / "2099_01_01_c0ffee000001_canary.py").write_text(
            NEW_REVISION.format(down=head(migrations)))
        assert migrations_key(migrations) != key
        second = template_url()
        assert second != first
        assert "canary" in tables(second)
        assert "canary" not in tables(first)
        if db_backend == "postgresql":
            import psycopg

            with pytest.raises(psycopg.OperationalError, match="not currently accepting"):
                psycopg.connect(PG_DSN.rsplit("/", 1)[0] + "/" + second.rsplit("/", 1)[1])
    finally:
        templates.close()


@pytest.mark.postgres
def test_copies_made_ahead_are_each_fresh_and_none_is_left_behind(
        postgres_available: str | None, tmp_path: Path) -> None:
    if postgres_available:
        pytest.skip(f"PostgreSQL NOT TESTED: {postgres_available}")
    import psycopg

    def ours() -> list[str]:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            return [name for (name,) in conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s",
                (f"%{templates.session}%",))]

    templates = DatabaseTemplates(tmp_path)
    try:
        migrations = service_migrations("mediation")
        assert migrations is not None
        names = [templates.postgresql_copy(migrations) for _ in range(5)]
        assert len(set(names)) == 5
        engine = sa.create_engine(_pg_url(names[0]).replace("+asyncpg", "+psycopg"))
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE written (x INTEGER)"))
        engine.dispose()
        names.append(templates.postgresql_copy(migrations))
        for name in names[1:]:
            assert schema(_pg_url(name)) == schema(_pg_url(names[1]))  # none saw the write
        assert "written" not in schema(_pg_url(names[-1]))["tables"]
        assert set(names) <= set(ours())
        templates.drop(names)
    finally:
        templates.close()
    assert ours() == []  # copies, stock and template

