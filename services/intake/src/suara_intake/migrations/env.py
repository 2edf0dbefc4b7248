"""Alembic environment for intake's database."""

from suara_intake.models import Base
from suara_kit.migrate import run_env

run_env(Base.metadata)
