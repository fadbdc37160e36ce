"""Auditor tools over the raw stored events, never the read models.

- `stored`: the event store's rows, page by page; `decode`: their JSON as plain data;
- `fold`: the figures of a fund from that data (equal to `Fund.replay`);
- `replay`: a fund as of a date, as known at a time;
- `verify` and `digest`: hash chains, sequences, receipts, transfers, read models, and a
  Merkle digest an auditor keeps to prove later that history only grew;
- `export`: a fund's history as JSON lines or CSV; `beancount`: the books as Beancount.
"""
