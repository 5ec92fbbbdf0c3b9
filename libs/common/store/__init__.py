"""The store of record (PostgreSQL): tenants, credentials, the booking map, cursors, audit trail."""
