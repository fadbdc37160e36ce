"""Concurrent commands on one fund never lose an update and never break a rule: threads of
one application, several applications (separate caches, as separate processes have) and
real processes, on SQLite and PostgreSQL."""

from __future__ import annotations

import multiprocessing
import random
import threading
from collections import Counter
from datetime import date
from uuid import UUID, uuid4

import pytest

from eventsourcing.persistence import IntegrityError as errors_integrity

from ledger.audit.verify import verify
from ledger.domain import errors
from ledger.domain.money import Money
from ledger.settings import Settings
from ledger.storage import open_ledger

D = date(2025, 3, 1)


def vnd(n: int) -> Money:
    return Money(n, "VND")


def _prepare(settings: Settings) -> tuple[UUID, UUID]:
    ledger = open_ledger(settings)
    ledger.open_fund("TT", "Thien Tam", actor="setup")
    sponsor = UUID(ledger.register_sponsor("Sponsor", "individual", actor="setup").result["id"])
    ledger.record_donation("TT", sponsor, vnd(1000), received_on=D, method="cash", actor="setup")
    alloc = UUID(ledger.allocate("TT", "round", vnd(1000), actor="setup").result["id"])
    award = UUID(ledger.grant_award("TT", alloc, {"name": "A", "school": "S"}, vnd(1000),
                                    actor="setup").result["id"])
    ledger.close()
    return sponsor, award


def _worker(ledgers, sponsor, award, seed, totals, lock, steps=25):
    rng = random.Random(seed)
    done = Counter()
    for _ in range(steps):
        ledger = rng.choice(ledgers)
        action, n = rng.choice(["donate", "allocate", "disburse"]), rng.randint(1, 300)
        try:
            if action == "donate":
                ledger.record_donation("TT", sponsor, vnd(n), received_on=D, method="cash",
                                       actor="w")
            elif action == "allocate":
                ledger.allocate("TT", "more", vnd(n), actor="w")
            else:
                ledger.disburse_award("TT", award, vnd(n), paid_on=D, method="cash", actor="w")
            done[action] += n
        except (errors.InsufficientAvailable, errors.ExceedsAwardRemainder,
                errors.InsufficientCash):
            pass
    with lock:
        totals.update(done)


def _check(settings: Settings, totals: Counter) -> None:
    ledger = open_ledger(settings)
    f = {k: v.minor for k, v in ledger.figures("TT").items()}
    assert f["received_total"] == 1000 + totals["donate"]
    assert f["disbursed_total"] == totals["disburse"]
    assert f["cash"] == 1000 + totals["donate"] - totals["disburse"]
    assert f["allocated_unspent"] == 1000 + totals["allocate"] - totals["disburse"]
    assert min(f["cash"], f["available"], f["allocated_unspent"]) >= 0
    history = ledger.history("TT")
    assert [e["seq"] for e in history] == list(range(1, len(history) + 1))
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(history, history[1:]))
    ledger.close()


@pytest.mark.parametrize("applications", [1, 3], ids=["one-application", "three-applications"])
def test_threads_recording_donations_allocations_and_disbursements_end_with_the_models_figures(
    durable_settings, applications
):
    sponsor, award = _prepare(durable_settings)
    ledgers = [open_ledger(durable_settings) for _ in range(applications)]
    totals, lock = Counter(), threading.Lock()
    threads = [threading.Thread(target=_worker, args=(ledgers, sponsor, award, i, totals, lock))
               for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(totals.values()) > 0
    _check(durable_settings, totals)
    for ledger in ledgers:
        ledger.close()


def _process(settings_json: str, sponsor: str, award: str, seed: int, queue) -> None:
    settings = Settings.model_validate_json(settings_json)
    ledger = open_ledger(settings)
    totals: Counter = Counter()
    _worker([ledger], UUID(sponsor), UUID(award), seed, totals, threading.Lock(), steps=30)
    ledger.close()
    queue.put(dict(totals))


def test_processes_writing_to_one_fund_lose_no_update(durable_settings):
    sponsor, award = _prepare(durable_settings)
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    processes = [context.Process(target=_process, args=(durable_settings.model_dump_json(),
                                                       str(sponsor), str(award), i, queue))
                 for i in range(3)]
    for p in processes:
        p.start()
    totals: Counter = Counter()
    for _ in processes:
        totals.update(queue.get(timeout=120))
    for p in processes:
        p.join(timeout=30)
        assert p.exitcode == 0
    _check(durable_settings, totals)


def test_the_same_write_sent_concurrently_is_recorded_once(durable_settings):
    sponsor, _ = _prepare(durable_settings)
    ledgers = [open_ledger(durable_settings) for _ in range(3)]
    gift_id = uuid4()
    answers = []

    def send(ledger):
        answers.append(ledger.record_donation("TT", sponsor, vnd(77), received_on=D,
                                              method="cash", actor="w", donation_id=gift_id))

    threads = [threading.Thread(target=send, args=(ledgers[i % 3],)) for i in range(9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(a.created for a in answers) == 1
    assert len({str(a.result) for a in answers}) == 1
    assert ledgers[0].figures("TT")["received_total"] == vnd(1077)
    for ledger in ledgers:
        ledger.close()


def test_a_refusal_rests_on_the_stored_fund_not_on_a_stale_cached_copy(durable_settings):
    """Another process's donation makes room: this process's allocation is not refused."""
    sponsor, _ = _prepare(durable_settings)
    here, elsewhere = open_ledger(durable_settings), open_ledger(durable_settings)
    assert here.figures("TT")["available"] == vnd(0)  # cached here
    elsewhere.record_donation("TT", sponsor, vnd(500), received_on=D, method="cash", actor="w")
    here.allocate("TT", "round two", vnd(400), actor="w")
    assert here.figures("TT")["available"] == vnd(100)
    here.close()
    elsewhere.close()


def test_two_ledgers_taking_turns_on_funds_catch_up_before_each_command(durable_settings):
    """As two server processes do: each ledger's cache goes stale with every write of the
    other. After a save lost to the other, a ledger brings its funds up to date before
    each command (and keeps copies to go back to), so turns stop being refused; a copy put
    back continues the hash chain as stored."""
    sponsor, _ = _prepare(durable_settings)
    for code in ("AA", "BB"):
        open_ledger(durable_settings).open_fund(code, code, actor="setup")
    first, second = open_ledger(durable_settings), open_ledger(durable_settings)
    refused = Counter()
    for ledger in (first, second):
        save = ledger.save

        def counted(*objs, _save=save, _ledger=ledger, **kw):
            try:
                return _save(*objs, **kw)
            except errors_integrity:
                refused[id(_ledger)] += 1
                raise

        ledger.save = counted
    total = 0
    for turn in range(12):
        ledger = (first, second)[turn % 2]
        batch = [{"code": code, "sponsor_id": sponsor, "amount": vnd(10 + turn),
                  "credited": None, "received_on": D, "method": "cash", "reference": "",
                  "pledge_id": None, "donation_id": uuid4()} for code in ("AA", "BB", "TT")]
        assert all(w.created for w in ledger.record_donations(batch, actor="w"))
        ledger.record_donation("TT", sponsor, vnd(1), received_on=D, method="cash", actor="w")
        total += 10 + turn
    # each ledger lost one save at most before it caught up ahead of its commands
    assert refused[id(first)] <= 1 and refused[id(second)] <= 1, refused
    for ledger in (first, second):
        assert ledger.figures("AA")["received_total"] == vnd(total)
        assert ledger.figures("TT")["received_total"] == vnd(1000 + total + 12)
    report = verify(first)
    assert report.ok, report
    first.close()
    second.close()


def _gift(sponsor: UUID, code: str = "TT", amount: int = 10) -> dict:
    return {"code": code, "sponsor_id": sponsor, "amount": vnd(amount), "credited": None,
            "received_on": D, "method": "cash", "reference": "", "pledge_id": None,
            "donation_id": uuid4()}


@pytest.mark.parametrize("batch", [False, True], ids=["one-write", "batch"])
def test_a_save_lost_while_contended_puts_back_a_caught_up_copy(durable_settings, batch):
    """Another process writes between this ledger's command and its save: the save is
    lost, the copy kept before the command goes back, brought up to date, and the write
    is done again on it; the chain and the figures are as stored."""
    sponsor, _ = _prepare(durable_settings)
    here, elsewhere = open_ledger(durable_settings), open_ledger(durable_settings)
    here.figures("TT")  # cached here
    here._contended_until = float("inf")  # as after a save lost to another process
    put_back = []
    lost = here._lost
    here._lost = lambda ids, kept: (put_back.append(kept), lost(ids, kept))[1]
    save = here.save
    meddled = []

    def save_after_another(*objs, **kw):
        if not meddled:  # once: between this ledger's command and its save
            meddled.append(elsewhere.record_donation("TT", sponsor, vnd(5), received_on=D,
                                                     method="cash", actor="w"))
        return save(*objs, **kw)

    here.save = save_after_another
    if batch:
        assert all(w.created for w in here.record_donations([_gift(sponsor)], actor="w"))
    else:
        here.record_donation("TT", sponsor, vnd(10), received_on=D, method="cash", actor="w")
    assert len(put_back) == 1 and put_back[0]  # the copy path, not a reload
    here.save = save
    refused = []
    here._lost = lambda ids, kept: (refused.append(ids), lost(ids, kept))[1]
    here.record_donation("TT", sponsor, vnd(1), received_on=D, method="cash", actor="w")
    assert refused == []  # the copy put back was current: the next save went through
    assert here.figures("TT")["received_total"] == vnd(1000 + 5 + 10 + 1)
    assert verify(here).ok
    here.close()
    elsewhere.close()


def test_a_failed_check_after_a_lost_save_never_leaves_an_unstored_event_cached(
        durable_settings):
    """Had the fund stayed cached with the event whose save was lost, the next write would
    have chained onto an event the store does not hold."""
    sponsor, _ = _prepare(durable_settings)
    here, elsewhere = open_ledger(durable_settings), open_ledger(durable_settings)
    here.figures("TT")
    elsewhere.record_donation("TT", sponsor, vnd(5), received_on=D, method="cash", actor="w")
    check = here._stored_as_made

    def broken(made):
        raise ConnectionError("the database went away while checking")

    here._stored_as_made = broken
    with pytest.raises(ConnectionError):
        here.record_donation("TT", sponsor, vnd(10), received_on=D, method="cash", actor="w")
    here._stored_as_made = check
    here.record_donation("TT", sponsor, vnd(1), received_on=D, method="cash", actor="w")
    assert here.figures("TT")["received_total"] == vnd(1000 + 5 + 1)
    assert verify(here).ok
    here.close()
    elsewhere.close()


def test_a_batch_refused_on_a_stale_cached_fund_is_decided_again_on_the_stored_one(
        durable_settings):
    """The pledge was made by another process after this one cached the fund."""
    sponsor, _ = _prepare(durable_settings)
    here, elsewhere = open_ledger(durable_settings), open_ledger(durable_settings)
    here.figures("TT")
    pledge = UUID(elsewhere.make_pledge("TT", sponsor, vnd(100), actor="w").result["id"])
    [written] = here.record_donations([{**_gift(sponsor), "pledge_id": pledge}], actor="w")
    assert written.created
    assert here.figures("TT")["pledged_outstanding"] == vnd(90)
    here.close()
    elsewhere.close()


@pytest.mark.parametrize("client_id", [False, True], ids=["server-made-id", "client-id"])
def test_a_write_whose_commit_was_only_seen_by_a_retry_is_answered_as_recorded(
    durable_settings, client_id
):
    """The recorder retries an insert after a broken connection; when the first attempt
    had committed, the retry meets its rows. The write is recorded once and answered."""
    sponsor, _ = _prepare(durable_settings)
    ledger = open_ledger(durable_settings)
    ledger.figures("TT")  # the fund is cached, as in a running server
    insert = ledger.recorder.insert_events

    def commit_then_retry(stored_events, **kwargs):
        insert(stored_events, **kwargs)  # commits; the answer is "lost"
        return insert(stored_events, **kwargs)  # the library's retry meets the rows

    ledger.recorder.insert_events = commit_then_retry
    written = ledger.record_donation("TT", sponsor, vnd(250), received_on=D, method="cash",
                                     actor="w", donation_id=uuid4() if client_id else None)
    ledger.recorder.insert_events = insert
    assert written.created
    assert ledger.figures("TT")["received_total"] == vnd(1250)
    ledger.record_donation("TT", sponsor, vnd(1), received_on=D, method="cash", actor="w")
    assert open_ledger(durable_settings).figures("TT")["received_total"] == vnd(1251)
    ledger.close()


def _open_everything(settings_json: str, queue) -> None:
    try:
        from ledger.projections.facade import ReadModels
        from ledger.users import open_users

        settings = Settings.model_validate_json(settings_json)
        ledger = open_ledger(settings)
        models = ReadModels(ledger, settings)
        open_users(settings).close()
        models.stop()
        ledger.close()
        queue.put("ok")
    except BaseException as e:  # noqa: BLE001 - reported to the test
        queue.put(f"{type(e).__name__}: {e}")


def test_processes_opening_a_new_postgres_schema_at_once_all_succeed(pg_settings):
    # PostgreSQL can fail concurrent CREATE ... IF NOT EXISTS with "tuple concurrently
    # updated"; opening the ledger, its read models and its users must not
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    processes = [context.Process(target=_open_everything,
                                 args=(pg_settings.model_dump_json(), queue)) for _ in range(6)]
    for p in processes:
        p.start()
    answers = [queue.get(timeout=120) for _ in processes]
    for p in processes:
        p.join(timeout=30)
    assert answers == ["ok"] * 6
