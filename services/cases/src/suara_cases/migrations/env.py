"""Alembic environment for case-management's database."""

from suara_cases.models import Base
from suara_kit.migrate import run_env

run_env(Base.metadata)
