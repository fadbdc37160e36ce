"""The Unicode font of the PDF statements, from a Python dependency (no system font).

Source Sans Pro (SIL Open Font License) ships in the `font-source-sans-pro` package and
covers Vietnamese fully (ă â đ ê ô ơ ư with every tone mark, and ₫). Parsing and
subsetting a whole TTF for every PDF would dominate the time of a thousand statements, so
each face is cut down once, to the characters a statement can use (Latin, Vietnamese,
punctuation, currency signs), and cached in the temporary folder; `fpdf2` then embeds a
subset of that small face in each PDF. `printable` turns any text into what the face can
draw: composed to NFC, with characters outside it replaced by '?'.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import unicodedata
from functools import lru_cache
from pathlib import Path

import font_source_sans_pro
from fontTools import subset
from fontTools.ttLib import TTFont
from fpdf import FPDF

# fontTools reports every step of every subset at INFO: one PDF would log dozens of lines
logging.getLogger("fontTools").setLevel(logging.WARNING)

FAMILY = "SourceSansPro"
FACES = {"": "SourceSansPro-Regular.ttf", "B": "SourceSansPro-Bold.ttf"}

#: What a statement can show: ASCII and Latin-1 (French, German, Spanish names), the
#: Vietnamese letters (Ă Đ Ĩ Ũ Ơ Ư and Latin Extended Additional), the other letters of
#: Windows-1252, punctuation and currency signs. Fewer glyphs make every PDF faster.
CODEPOINTS = frozenset(
    [*range(0x20, 0x7F), *range(0xA0, 0x100), 0x102, 0x103, 0x110, 0x111, 0x128, 0x129,
     0x152, 0x153, 0x160, 0x161, 0x168, 0x169, 0x178, 0x17D, 0x17E, 0x192,
     0x1A0, 0x1A1, 0x1AF, 0x1B0, *range(0x1EA0, 0x1EFA), *range(0x2010, 0x2028),
     *range(0x2030, 0x203B), 0x20AB, 0x20AC, 0x2116, 0x2122]
)


#: bumped whenever the way faces are cut changes, so a stale cached face is not reused
_RECIPE = "2"


def _source(face: str) -> Path:
    return Path(font_source_sans_pro.font_directory) / FACES[face]


@lru_cache(maxsize=None)
def face_path(face: str) -> Path:
    """The cut-down TTF of a face ('' regular, 'B' bold), made once and cached."""
    source = _source(face)
    key = hashlib.sha256(source.read_bytes() + repr(sorted(CODEPOINTS)).encode()
                         + _RECIPE.encode()).hexdigest()
    target = Path(tempfile.gettempdir()) / f"ledger-statement-{key[:16]}-{source.name}"
    if not target.exists():
        font = TTFont(source)
        options = subset.Options()
        options.layout_features = []  # no shaping: Vietnamese needs only precomposed letters
        options.hinting = False
        options.notdef_outline = True
        options.name_IDs = [1, 2, 3, 4, 6]  # family, style, id, full and PostScript names
        options.glyph_names = False
        options.drop_tables += ["GSUB", "GPOS", "GDEF", "kern", "DSIG", "BASE", "gasp"]
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=CODEPOINTS)
        subsetter.subset(font)
        # several processes may make it at once: each writes its own file, then renames
        partial = target.with_suffix(f".{os.getpid()}.part")
        font.save(partial)
        os.replace(partial, target)
    return target


@lru_cache(maxsize=None)
def covered() -> frozenset[int]:
    """The code points the cut-down faces can draw."""
    return frozenset(CODEPOINTS & set(TTFont(_source("")).getBestCmap()))


@lru_cache(maxsize=1 << 16)  # statements repeat the same names, schools and amounts
def printable(text: str) -> str:
    """The text as the statement font can draw it: NFC, unknown characters as '?'."""
    text = unicodedata.normalize("NFC", text)
    drawable = covered()
    if all(ord(c) in drawable for c in text):
        return text
    return "".join(c if ord(c) in drawable else "?" for c in text)


def install(pdf: FPDF) -> None:
    """Makes the statement faces available to `pdf` as `FAMILY` ('' and 'B')."""
    for face in FACES:
        pdf.add_font(FAMILY, face, str(face_path(face)))
        # The cut-down face's bounding boxes are right already: recomputing them when
        # fpdf2 saves its subset would re-encode every glyph, most of a PDF's time.
        pdf.fonts[f"{FAMILY.lower()}{face}"].ttfont.recalcBBoxes = False
