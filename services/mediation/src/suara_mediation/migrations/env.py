"""Alembic environment for mediation-scheduling's database."""

from suara_kit.migrate import run_env
from suara_mediation.models import Base

run_env(Base.metadata)
