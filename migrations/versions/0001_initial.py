"""Store of record: tenants, tokens, booking map, audit log, sync cursors.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ts = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.Text, nullable=False, server_default=""),
        sa.Column("shop_url", sa.Text, nullable=False),
        sa.Column("webhook_secret_enc", sa.Text, nullable=False),
        sa.Column("woo_consumer_key_enc", sa.Text),
        sa.Column("woo_consumer_secret_enc", sa.Text),
        sa.Column("fortnox_api_url", sa.Text, nullable=False),
        sa.Column("fortnox_auth_url", sa.Text, nullable=False),
        sa.Column("fortnox_client_id", sa.Text, nullable=False, server_default=""),
        sa.Column("fortnox_client_secret_enc", sa.Text),
        sa.Column("fortnox_tenant_id", sa.Text),
        sa.Column("settings", JSONB, nullable=False, server_default="{}"),
        sa.Column("status", sa.String(32), nullable=False, server_default="active"),
        sa.Column("status_reason", sa.Text),
        sa.Column("created_at", _ts, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", _ts, nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "fortnox_tokens",
        sa.Column("tenant_id", sa.String(64), sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("access_token_enc", sa.Text),
        sa.Column("refresh_token_enc", sa.Text),
        sa.Column("expires_at", _ts),
        sa.Column("scope", sa.Text, nullable=False, server_default=""),
        sa.Column("generation", sa.Integer, nullable=False, server_default="0"),
        sa.Column("updated_at", _ts, nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "bookings",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("woo_resource", sa.String(32), primary_key=True),
        sa.Column("woo_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("fortnox_number", sa.Text),
        sa.Column("snapshot_modified", _ts),
        sa.Column("snapshot_hash", sa.Text),
        sa.Column("detail", JSONB, nullable=False, server_default="{}"),
        sa.Column("updated_at", _ts, nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("woo_resource", sa.String(32), nullable=False),
        sa.Column("woo_id", sa.String(64), nullable=False),
        sa.Column("at", _ts, nullable=False, server_default=sa.func.now()),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("detail", JSONB, nullable=False, server_default="{}"),
    )
    op.create_index("ix_audit_object", "audit_log", ["tenant_id", "woo_resource", "woo_id"])
    op.create_table(
        "sync_cursors",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_at", _ts, nullable=False, server_default=sa.func.now()),
    )


def downgrade() -> None:
    for table in ("sync_cursors", "audit_log", "bookings", "fortnox_tokens", "tenants"):
        op.drop_table(table)
