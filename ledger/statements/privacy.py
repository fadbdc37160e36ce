"""How students appear to sponsors: initials, school and category, never a name.

Many recipients are minors. A statement goes to people outside the association, so it
carries no field that could hold a student's name (nor their grade, nor the free-text
reasons of a revocation or a return, which a treasurer may have written a name into).
"""

from __future__ import annotations

import unicodedata


def initials(name: str) -> str:
    """'Nguyễn Thị Lan' → 'N.T.L.'; the first letter of each word, upper case, with its
    diacritics (Đ stays Đ) but without tone marks, which belong to the whole word."""
    letters = []
    for word in name.split():
        first = next((c for c in word if c.isalpha()), None)
        if first is None:
            continue
        base = unicodedata.normalize("NFD", first)[0]
        letters.append("Đ" if first in "Đđ" else base.upper())
    return "".join(f"{letter}." for letter in letters) or "?"
