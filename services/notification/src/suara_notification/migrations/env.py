"""Alembic environment for notification's database."""

from suara_kit.migrate import run_env
from suara_notification.models import Base

run_env(Base.metadata)
