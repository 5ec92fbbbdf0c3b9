"""Alembic environment: runs on the connection `libs.common.store.migrate` hands it.

The search_path is already set to the target schema, so migrations create unqualified tables and
the version table lands in the same schema.
"""

from __future__ import annotations

from alembic import context

from libs.common.store.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table_schema=context.config.attributes["schema"],
    transaction_per_migration=False,
)
with context.begin_transaction():
    context.run_migrations()
