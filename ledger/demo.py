"""The Da Nang reference funds with a realistic school year of activity (2024-2025).

Every write has a deterministic id, so loading the demo twice records nothing the second
time. Students and their schools are fictional; the funds and programmes are those of
the Da Nang Association for Promoting Education (see SPEC §1).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from uuid import UUID, uuid5

from ledger.application import Ledger
from ledger.domain.money import Money

DEMO_NAMESPACE = UUID("3b8e0f7c-52d4-4a8e-9f0e-6c1a2d9b7e11")
ACTOR = "demo-treasurer"


def _id(*parts: object) -> UUID:
    return uuid5(DEMO_NAMESPACE, "/".join(map(str, parts)))


@dataclass(frozen=True)
class DemoFund:
    code: str
    name: str
    purpose: str
    restricted: bool = False


FUNDS = [
    DemoFund("BANKING", "Encouraging learning in Banking in Da Nang City",
             "Scholarships from the city's banks for studious pupils of poor families"),
    DemoFund("PN-IT", "IT specialised-training scholarship — Passerelles Numériques",
             "Vocational IT training at Da Nang Vocational College, with Passerelles Numériques",
             restricted=True),
    DemoFund("ASAHI", "Asahi Daily scholarship — Minh Viet Japanese Language Center",
             "Scholarships from Asahi Daily readers for pupils learning Japanese"),
    DemoFund("THIEN-TAM", "Thien Tam scholarship fund",
             "Scholarships for pupils overcoming hardship"),
    DemoFund("COTU", "Co Tu ethnic students' awards — Ms. Nong Thi Ngoc Minh's family",
             "Awards for studious Co Tu ethnic students, given through the Da Nang association "
             "in Ho Chi Minh City", restricted=True),
    DemoFund("NGUYEN-HV", "Nguyen clan study-promotion fund, Hoa Vang",
             "The clan's awards for its children's good results"),
]

SPONSORS = {
    "vcb": ("Vietcombank Da Nang", "organization", "khuyenhoc@vcb-danang.example"),
    "bidv": ("BIDV Da Nang", "organization", "csr@bidv-danang.example"),
    "agri": ("Agribank Da Nang", "organization", ""),
    "vtb": ("VietinBank Da Nang", "organization", ""),
    "pn": ("Passerelles Numériques", "organization", "vietnam@pn.example"),
    "asahi": ("Asahi Daily readers' fund", "organization", ""),
    "minhviet": ("Minh Viet Japanese Language Center", "organization", ""),
    "thientam": ("Thien Tam charity group", "organization", ""),
    "tran": ("Trần Văn Hùng", "individual", "hung.tran@example.vn"),
    "lethi": ("Lê Thị Mai", "individual", ""),
    "nong": ("Nông Thị Ngọc Minh's family", "family", ""),
    "nguyen": ("Nguyễn clan of Hòa Vang", "clan", ""),
}

SCHOOLS = [
    "Le Quy Don High School for the Gifted",
    "Phan Chau Trinh High School",
    "Hoa Vang High School",
    "Tay Giang Ethnic Boarding School",
    "Da Nang Vocational College",
    "Nguyen Hien High School",
]
CATEGORIES = ["poor, studious", "excellent achievement", "ethnic minority", "orphan"]
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Phan", "Võ", "Đặng", "Bùi", "Alăng", "Bhríu"]
MIDDLE = ["Thị", "Văn", "Minh", "Ngọc", "Đức", "Thanh"]
GIVEN = ["Lan", "Hùng", "Mai", "An", "Bình", "Hà", "Khoa", "Linh", "Nhi", "Phúc", "Tâm", "Vy"]


def vnd(amount: int) -> Money:
    return Money(amount, "VND")


def load_demo(ledger: Ledger) -> dict[str, int]:
    """Loads the demo funds and their year; returns how many writes were recorded/replayed."""
    rng = random.Random(2025)
    counts = {"recorded": 0, "already_present": 0}

    def count(written: object) -> None:
        counts["recorded" if written.created else "already_present"] += 1  # type: ignore[attr-defined]

    start = date(2024, 8, 20)
    for fund in FUNDS:
        count(ledger.open_fund(fund.code, fund.name, "VND", purpose=fund.purpose,
                               restricted=fund.restricted, actor=ACTOR, write_id=_id("fund", fund.code),
                               opened_on=start))
    sponsor = {}
    for key, (name, kind, email) in SPONSORS.items():
        count(ledger.register_sponsor(name, kind, email, actor=ACTOR, sponsor_id=_id("sponsor", key)))
        sponsor[key] = _id("sponsor", key)

    def give(code: str, who: str, amount: Money, on: date, n: int, credited: Money | None = None,
             pledge: UUID | None = None, method: str = "bank_transfer") -> UUID:
        donation_id = _id("donation", code, who, n)
        count(ledger.record_donation(code, sponsor[who], amount, credited, received_on=on,
                                     method=method, reference=f"FT{on:%y%m%d}{n:05d}",
                                     pledge_id=pledge, actor=ACTOR, donation_id=donation_id))
        return donation_id

    # Banks pledge for the year in two instalments and pay them.
    for i, bank in enumerate(["vcb", "bidv", "agri", "vtb"]):
        total = [200_000_000, 150_000_000, 100_000_000, 120_000_000][i]
        pledge_id = _id("pledge", bank)
        schedule = [(date(2024, 9, 15), vnd(total // 2)), (date(2025, 2, 15), vnd(total // 2))]
        count(ledger.make_pledge("BANKING", sponsor[bank], vnd(total), schedule, actor=ACTOR,
                                 pledge_id=pledge_id, pledged_on=date(2024, 8, 25)))
        give("BANKING", bank, vnd(total // 2), date(2024, 9, 12 + i), 1, pledge=pledge_id)
        if bank != "vtb":  # VietinBank's second instalment is still outstanding
            give("BANKING", bank, vnd(total // 2), date(2025, 2, 10 + i), 2, pledge=pledge_id)

    # Passerelles Numériques gives in EUR; the bank credits VND.
    for n, (eur, rate, on) in enumerate([(12000, 27150, date(2024, 9, 3)),
                                         (8000, 27420, date(2025, 1, 20))], start=1):
        give("PN-IT", "pn", Money(eur * 100, "EUR"), on, n, credited=vnd(eur * rate))
    # Asahi Daily readers give in JPY.
    for n, (jpy, rate, on) in enumerate([(1_500_000, 165, date(2024, 10, 1)),
                                         (900_000, 168, date(2025, 3, 3))], start=1):
        give("ASAHI", "asahi", Money(jpy, "JPY"), on, n, credited=vnd(jpy * rate))
    give("ASAHI", "minhviet", vnd(30_000_000), date(2024, 10, 5), 1)
    # Thien Tam: many small gifts, one of which bounces.
    for n in range(1, 13):
        who = ["thientam", "tran", "lethi"][n % 3]
        give("THIEN-TAM", who, vnd(rng.choice([3, 5, 10]) * 1_000_000),
             date(2024, 9, 1) + timedelta(days=25 * n), n, method=rng.choice(["bank_transfer", "cash"]))
    bounced = give("THIEN-TAM", "tran", vnd(5_000_000), date(2024, 12, 20), 99)
    count(ledger.reverse_donation("THIEN-TAM", bounced, "transfer returned by the bank",
                                  actor=ACTOR, write_id=_id("reversal", bounced),
                                  reversed_on=date(2024, 12, 27)))
    give("COTU", "nong", vnd(80_000_000), date(2024, 9, 5), 1)
    give("NGUYEN-HV", "nguyen", vnd(25_000_000), date(2024, 8, 30), 1, method="cash")
    # Thien Tam shares with the Co Tu awards.
    count(ledger.transfer("THIEN-TAM", "COTU", vnd(10_000_000), "joint Tet awards for Co Tu students",
                          actor=ACTOR, transfer_id=_id("transfer", 1),
                          transferred_on=date(2025, 1, 15)))

    # Award rounds: each fund allocates, grants to students and pays in two tranches.
    rounds = {
        "BANKING": [(160_000_000, 20, 6_000_000), (150_000_000, 15, 8_000_000)],
        "PN-IT": [(300_000_000, 12, 20_000_000)],
        "ASAHI": [(250_000_000, 25, 8_000_000)],
        "THIEN-TAM": [(20_000_000, 10, 2_000_000)],
        "COTU": [(80_000_000, 16, 5_000_000)],
        "NGUYEN-HV": [(20_000_000, 8, 2_000_000)],
    }
    for code, plans in rounds.items():
        for r, (allocated, students, each) in enumerate(plans, start=1):
            round_name = f"2024-2025 school year — round {r}"
            alloc = _id("allocation", code, r)
            on = date(2024, 9, 20) if r == 1 else date(2025, 2, 25)
            count(ledger.allocate(code, round_name, vnd(allocated), actor=ACTOR,
                                  allocation_id=alloc, allocated_on=on))
            for s in range(students):
                award = _id("award", code, r, s)
                school = SCHOOLS[4] if code == "PN-IT" else (
                    SCHOOLS[3] if code == "COTU" else rng.choice(SCHOOLS[:4] + SCHOOLS[5:]))
                category = "ethnic minority" if code == "COTU" else rng.choice(CATEGORIES)
                recipient = {
                    "name": f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}",
                    "school": school,
                    "grade": "vocational" if code == "PN-IT" else str(rng.randint(6, 12)),
                    "category": category,
                }
                count(ledger.grant_award(code, alloc, recipient, vnd(each), actor=ACTOR,
                                         award_id=award, granted_on=on + timedelta(days=5)))
                count(ledger.disburse_award(code, award, vnd(each // 2),
                                            paid_on=on + timedelta(days=10), method="bank_transfer",
                                            reference=f"CK{r}{s:03d}", actor=ACTOR,
                                            disbursement_id=_id("tranche", code, r, s, 1)))
                if on + timedelta(days=120) < date(2025, 8, 31) and s % 5 != 4:
                    count(ledger.disburse_award(code, award, vnd(each - each // 2),
                                                paid_on=on + timedelta(days=120), method="cash",
                                                actor=ACTOR,
                                                disbursement_id=_id("tranche", code, r, s, 2)))
            if code == "BANKING" and r == 1:
                # One pupil moved to another city: the award is revoked and part paid back.
                award = _id("award", code, r, 0)
                count(ledger.record_return(code, award, vnd(1_000_000), "moved to Hue",
                                           returned_on=date(2025, 3, 2), actor=ACTOR,
                                           return_id=_id("return", code, r, 0)))
                count(ledger.revoke_award(code, award, "moved to Hue", actor=ACTOR,
                                          write_id=_id("revocation", award),
                                          revoked_on=date(2025, 3, 2)))
                count(ledger.release_allocation(code, alloc, vnd(20_000_000),
                                                "round 1 under-spent", actor=ACTOR,
                                                write_id=_id("release", code, r),
                                                released_on=date(2025, 3, 5)))
    return counts
