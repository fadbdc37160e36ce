"""The async donation route through a real uvicorn on SQLite and PostgreSQL: keys looked up
on the event loop (or, for a file, in a worker thread), donations group-committed by the
writer thread and answered once the read models show them; a key revoked meanwhile is
refused at its next request."""

from __future__ import annotations

import concurrent.futures
import uuid

from test_api_support import serving


def test_donations_over_a_real_server_are_read_back_at_once_and_revocation_holds(
    durable_settings,
):
    with serving(durable_settings) as api:
        assert api.post("/v1/funds", {"code": "THIENTAM", "name": "Thien Tam"}).status_code == 201
        sponsor = api.sponsor("Agribank Da Nang")

        def give(i: int) -> bool:
            gift = str(uuid.uuid4())
            r = api.post("/v1/funds/THIENTAM/donations", {
                "id": gift, "sponsor_id": sponsor,
                "amount": {"amount": str(100_000 * (i + 1)), "currency": "VND"},
                "received_on": "2025-09-01", "method": "bank_transfer"})
            assert r.status_code == 201, r.text
            # read-your-writes: the answer came only once the views held this gift
            history = api.get("/v1/funds/THIENTAM/events", params={"limit": 1000}).json()
            return any(e["data"].get("donation_id") == gift for e in history["events"])

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            assert all(pool.map(give, range(24)))
        fund = api.get("/v1/funds/THIENTAM").json()
        assert fund["counts"]["donations"] == 24
        assert fund["figures"]["cash"] == {"amount": str(100_000 * 24 * 25 // 2),
                                           "currency": "VND"}
        api.add_user("Nguyen Van An", "treasurer")
        body = {"sponsor_id": sponsor, "amount": {"amount": "5000", "currency": "VND"},
                "received_on": "2025-09-02", "method": "cash"}
        first = api.post("/v1/funds/THIENTAM/donations", body, who="Nguyen Van An")
        assert first.status_code == 201
        api.app.state.runtime.users.revoke("Nguyen Van An")
        refused = api.post("/v1/funds/THIENTAM/donations", body, who="Nguyen Van An")
        assert refused.status_code == 401
        assert api.get("/v1/funds/THIENTAM").json()["counts"]["donations"] == 25
