"""One module per family of Fortnox resources; each exposes `register(router)`."""

from __future__ import annotations

from services.fortnox_sandbox.routing import Router

__all__ = ["register_all"]


def register_all(router: Router) -> None:
    from services.fortnox_sandbox.resources import (
        actions,
        articles,
        customers,
        documents,
        payments,
        settings,
        vouchers,
    )

    customers.register(router)
    articles.register(router)
    documents.register(router)
    actions.register(router)
    payments.register(router)
    vouchers.register(router)
    settings.register(router)
