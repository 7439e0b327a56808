"""FastAPI integration: the visitor as a dependency.

    from typing import Annotated

    from fastapi import Depends, FastAPI
    from gatekeeper import Gatekeeper, Visitor
    from gatekeeper.fastapi import CurrentVisitor, current_visitor

    app = FastAPI()
    app.add_middleware(Gatekeeper, policy="policy.yaml")

    @app.get("/api/me")
    async def me(visitor: Annotated[Visitor, Depends(current_visitor)]) -> dict[str, str | None]:
        return {"country": visitor.country}

    @app.get("/api/lang")
    async def lang(visitor: CurrentVisitor) -> dict[str, str]:   # the same, shorter
        return {"language": visitor.language}

This is the only module of gatekeeper that imports FastAPI, so the core never needs it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from .visitor import Visitor, visitor

__all__ = ["CurrentVisitor", "current_visitor"]


def current_visitor(request: Request) -> Visitor:
    """The request's `Visitor`, computed by the Gatekeeper middleware in front of the app.

    Raises LookupError when the app is not wrapped by Gatekeeper: that is a deployment
    mistake, and a 500 that names it is better than a route that silently sees no one.
    """
    return visitor(request)


CurrentVisitor = Annotated[Visitor, Depends(current_visitor)]
"""`visitor: CurrentVisitor` in a route's signature: `Depends(current_visitor)`, typed."""
