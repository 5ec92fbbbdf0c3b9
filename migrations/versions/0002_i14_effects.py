"""The writer's durable record of effects on Fortnox: intent before the call, result after it.

Revision ID: 0002_i14_effects
Revises: 0001
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_i14_effects"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "effects",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("obj", sa.String(200), primary_key=True),
        sa.Column("effect", sa.String(96), primary_key=True),
        sa.Column("reference", sa.Text, nullable=False, server_default=""),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("result", sa.Text),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def downgrade() -> None:
    op.drop_table("effects")
