"""The X12 character sets, and transliteration of text outside them.

X12.6 (Application Control Structure, 005010) section 3.3 defines the *basic* character set
(upper-case letters, digits, space and ``! " & ' ( ) * + , - . / : ; ? =``) and the
*extended* set (lower-case letters and ``% @ [ ] _ { } \\ | < > ~ # $``). Other characters
("select language characters" such as Ñ or É) are permitted only by agreement between the
trading partners, and the HIPAA implementation guides (005010X222A1 ...) do not grant it:
a payer's translator may reject the file or garble the name. So medbill writes them
transliterated (José Ñúñez -> Jose Nunez, Straße -> Strasse) and ``x12 validate`` flags
any character outside the two sets. (X12's own answer to the question, RFI 2212 for
005010X222A2, says the same: confirm with the partner before sending such characters.)
"""

from __future__ import annotations

import re
import unicodedata

BASIC = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 !\"&'()*+,-./:;?=")
EXTENDED = frozenset("abcdefghijklmnopqrstuvwxyz%@[]_{}\\|<>~#$")
ALLOWED = BASIC | EXTENDED

#: Letters NFKD does not decompose into a base letter plus marks.
_SPECIAL = {
    "ß": "ss", "ẞ": "SS", "Æ": "AE", "æ": "ae", "Œ": "OE", "œ": "oe", "Ø": "O", "ø": "o",
    "Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ð": "D", "ð": "d", "Þ": "TH", "þ": "th",
    "ı": "i", "Ħ": "H", "ħ": "h", "Ŋ": "N", "ŋ": "n", "ĸ": "k",
    # typographic punctuation people paste from word processors
    "‘": "'", "’": "'", "‚": ",", "“": '"', "”": '"', "„": '"', "–": "-", "—": "-",
    "‐": "-", "‑": "-", "…": "...", "´": "'", "`": "'", "^": "", "\u00a0": " ",
}


def outside_pattern(extra: str = "") -> re.Pattern[str]:
    """A pattern matching one character outside the sets (and outside ``extra``, e.g. the
    interchange's delimiters and line breaks)."""
    return re.compile("[^" + re.escape("".join(sorted(ALLOWED)) + extra) + "]")


_OUTSIDE = outside_pattern()


def in_charset(value: str) -> bool:
    """True when every character is in the basic or extended set."""
    return _OUTSIDE.search(value) is None


def transliterate(value: str) -> str:
    """``value`` with every character outside the X12 sets replaced by its closest letters
    (accents dropped) or, when it has none, left out."""
    if value.isascii() and in_charset(value):
        return value
    out = []
    for char in value:
        if char in ALLOWED:
            out.append(char)
        elif char in _SPECIAL:
            out.append(_SPECIAL[char])
        else:
            base = "".join(c for c in unicodedata.normalize("NFKD", char)
                           if not unicodedata.combining(c))
            out.append("".join(c for c in base if c in ALLOWED))
    return " ".join("".join(out).split()) if value.strip() else "".join(out)
