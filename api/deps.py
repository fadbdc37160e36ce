"""What routes depend on: the ledger, the read models, the settings and who is asking.

Every request presents `Authorization: Bearer <key>`; the key is looked up on each request
(so a revoked key stops working at once; on PostgreSQL, keys asked for while a lookup is
under way go together in the next one). The donations of the express lane
(`api.express`) are the one exception: a key it has seen before is found active by the
transaction that records the donation instead. Role dependencies answer 401 for a missing,
malformed, unknown or revoked key and 403 for a role that may not use the route; a route
open to sponsors then checks `principal.sponsor_id` itself and answers 404 for any other
sponsor's data, exactly as for a missing id. Admins manage users on the command line only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.group_commit import DonationGroupCommit
from api.problems import http_problem
from ledger.application import Ledger
from ledger.settings import Settings
from ledger.users import UserStore

_bearer = HTTPBearer(auto_error=False, description="An API key made by `ledger users add`")


@dataclass(frozen=True)
class Principal:
    """Who is asking: a user's name (the actor of their writes), role and sponsor binding."""

    name: str
    role: str
    sponsor_id: UUID | None = None

    def may_see_sponsor(self, sponsor_id: UUID | str) -> bool:
        """Whether this principal may read the data of this sponsor."""
        if self.role in ("treasurer", "auditor"):
            return True
        return self.role == "sponsor" and str(self.sponsor_id) == str(sponsor_id)


# Dependencies without I/O are async: FastAPI would run a sync one in a worker thread,
# a hop that costs more than their work.
async def get_settings(request: Request) -> Settings:
    return request.app.state.runtime.settings


async def get_ledger(request: Request) -> Ledger:
    return request.app.state.runtime.ledger


async def get_read_models(request: Request) -> Any:
    return request.app.state.runtime.read_models


async def get_visibility(request: Request) -> Any:
    return request.app.state.runtime.visibility


async def get_users(request: Request) -> UserStore:
    return request.app.state.runtime.users


async def get_donations(request: Request) -> DonationGroupCommit:
    return request.app.state.runtime.donations


SettingsDep = Annotated[Settings, Depends(get_settings)]
LedgerDep = Annotated[Ledger, Depends(get_ledger)]
ReadModelsDep = Annotated[Any, Depends(get_read_models)]
#: waits until the read models reflect a write (`wait_for(position, timeout)`)
VisibilityDep = Annotated[Any, Depends(get_visibility)]
UsersDep = Annotated[UserStore, Depends(get_users)]
DonationsDep = Annotated[DonationGroupCommit, Depends(get_donations)]


async def get_principal(
    request: Request,
    users: UsersDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> Principal:
    """The user holding the presented key; 401 when there is none. (Async: the lookup
    waits on the event loop, not in a worker thread.)"""
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None:
        raise http_problem(401, "send Authorization: Bearer <api key>", headers=challenge)
    principal = _principal(request, await users.authenticate_async(credentials.credentials))
    if principal is None:
        raise http_problem(401, "the API key is malformed, unknown or revoked",
                           headers=challenge)
    return principal


def principal_for(request: Request, users: UserStore, key: str) -> Principal | None:
    """The user holding this key now (None for a malformed, unknown or revoked key), named
    as the request's actor. The web pages call it with the key of their session cookie."""
    return _principal(request, users.authenticate(key))


def _principal(request: Request, user: Any) -> Principal | None:
    if user is None:
        return None
    principal = Principal(user.name, user.role, user.sponsor_id)
    # read by the access log middleware, which runs outside this context
    request.state.actor = principal.name
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require(*roles: str) -> Any:
    """A dependency that lets only these roles through: 403 for any other, except a
    sponsor, to whom everything that is not its own is not there (404, as a missing id)."""

    async def check(principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            if principal.role == "sponsor":
                raise http_problem(404, "not found")
            raise http_problem(403, f"this needs the role {' or '.join(roles)}, "
                                    f"not {principal.role}")
        return principal

    check.__name__ = f"require_{'_or_'.join(roles)}"
    return check


TreasurerDep = Annotated[Principal, Depends(require("treasurer"))]
AuditorDep = Annotated[Principal, Depends(require("auditor"))]
ReaderDep = Annotated[Principal, Depends(require("treasurer", "auditor"))]
SponsorReaderDep = Annotated[Principal, Depends(require("treasurer", "auditor", "sponsor"))]
