"""claim codes for assisted and partner intake

Revision ID: 231c16b9646f
Revises: 954f0eb73c02
Create Date: 2026-11-23 22:20:50.669658
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import suara_kit.db

revision: str = '231c16b9646f'
down_revision: str | None = '954f0eb73c02'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=16),
                                      nullable=False, server_default='web'))
        batch_op.add_column(sa.Column('claim_hash', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('claim_by', sa.Date(), nullable=True))
        batch_op.alter_column('receipt_hash',
               existing_type=sa.LargeBinary(),
               nullable=True)



def downgrade() -> None:
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.alter_column('receipt_hash',
               existing_type=sa.LargeBinary(),
               nullable=False)
        batch_op.drop_column('claim_by')
        batch_op.drop_column('claim_hash')
        batch_op.drop_column('channel')

