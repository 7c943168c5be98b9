"""Text folding shared by config loading and normalization."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
# Latin letters that Unicode does not decompose into a base letter and a mark: without this,
# "Łukasz" would fold to "ukasz" and "Đạt" to "at".
_UNDECOMPOSED = str.maketrans(
    {
        "ł": "l",
        "ø": "o",
        "đ": "d",
        "ð": "d",
        "ħ": "h",
        "\u0131": "i",  # dotless i
        "ŧ": "t",
        "æ": "ae",
        "œ": "oe",
        "þ": "th",
        "ß": "ss",
    }
)


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Lower-case, strip accents and punctuation, collapse spaces: "  José-Luis " → "jose luis"."""
    decomposed = unicodedata.normalize("NFKD", text.lower().translate(_UNDECOMPOSED))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NON_ALNUM.sub(" ", stripped).strip()
