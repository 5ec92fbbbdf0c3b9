"""Tenants: the organisation number of the shop's Fortnox company, checked after OAuth consent.

Revision ID: 0003_i16_organisation_number
Revises: 0002_i14_effects
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_i16_organisation_number"
down_revision = "0002_i14_effects"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tenants", sa.Column("fortnox_organisation_number", sa.Text, nullable=True))


def downgrade() -> None:
    op.drop_column("tenants", "fortnox_organisation_number")
