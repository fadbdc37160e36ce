"""The ledger's digest: a Merkle root over every stored event, in notification order.

An auditor keeps a digest (`ledger audit digest`). Later, `ledger audit verify --since
DIGEST` recomputes the root over the first `size` events now stored: the same root proves
that the history the digest covered is still there, byte for byte and in the same order,
and that the ledger has only grown since. A rewrite that recomputes every later hash of a
fund's chain still changes the stored bytes, so it changes this root.

The tree is RFC 6962's (Certificate Transparency): a leaf is SHA-256(0x00 ‖ content), a
node SHA-256(0x01 ‖ left ‖ right), split at the largest power of two below the size. A
leaf's content is the event's aggregate id, version, topic and stored state, so sponsor
and receipt events are covered as well as fund events. The root is computed streaming,
with one pending subtree root per bit of the size.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timezone

from ledger.domain.errors import InvalidInput

PREFIX = "ledger-digest:v1"
#: a digest's text: size, Merkle root, and the UTC time it was taken (ISO 8601); one
#: regular expression in Python and in JSON Schema alike (the API documents it)
PATTERN = (r"ledger-digest:v1:([0-9]{1,19}):([0-9a-f]{64}):"
           r"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.+Z-]{8,32})")
_TEXT = re.compile(PATTERN, re.ASCII)
EMPTY_ROOT = hashlib.sha256(b"").hexdigest()


def leaf(originator_hex: str, seq: int, topic: str, state: bytes) -> bytes:
    """The leaf hash of one stored event."""
    head = f"{originator_hex}:{seq}:{topic}:".encode()
    return hashlib.sha256(b"\x00" + head + bytes(state)).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


class MerkleLog:
    """The RFC 6962 Merkle tree hash of a growing list of leaves."""

    def __init__(self) -> None:
        self.size = 0
        #: roots of the perfect subtrees making up the leaves so far, largest first
        self._peaks: list[tuple[int, bytes]] = []

    def append(self, leaf_hash: bytes) -> None:
        height, h = 0, leaf_hash
        peaks = self._peaks
        while peaks and peaks[-1][0] == height:
            h = _node(peaks.pop()[1], h)
            height += 1
        peaks.append((height, h))
        self.size += 1

    def root(self) -> str:
        if not self._peaks:
            return EMPTY_ROOT
        h = self._peaks[-1][1]
        for _, peak in reversed(self._peaks[:-1]):
            h = _node(peak, h)
        return h.hex()


@dataclass(frozen=True)
class Digest:
    """What an auditor keeps: how many events, their Merkle root, and when."""

    size: int
    root: str
    at: str

    @classmethod
    def of(cls, log: MerkleLog) -> Digest:
        at = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
        return cls(log.size, log.root(), at)

    @property
    def text(self) -> str:
        return f"{PREFIX}:{self.size}:{self.root}:{self.at}"

    @classmethod
    def parse(cls, text: str) -> Digest:
        match = _TEXT.fullmatch(text)
        if not match:
            raise InvalidInput("digest", f"expected {PREFIX}:SIZE:ROOT:TIME as printed by "
                                         "`ledger audit digest`")
        return cls(int(match[1]), match[2], match[3])

    def as_json(self) -> dict[str, object]:
        return {"digest": self.text, "size": self.size, "root": self.root, "at": self.at}
