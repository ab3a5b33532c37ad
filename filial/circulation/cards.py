"""Card numbers as a reader types them and as the library system stores them, made comparable.

:func:`card_key` is the ONE normalisation of a card number; ``Reader.card_key`` stores it (indexed with the
system), and the readers' dialogue looks the typed card up by it. Both sides go through the same function, so
«Д-1013», «д 1013», «Д1013» and «D-1013» typed with a Latin letter all find the reader stored as «Д-1013».

The rules (decided for Russian library systems, where a card number is an identifier, not a number):

- Unicode NFKC (full-width digits and letters become plain ones), then case-folded, «ё» → «е»;
- everything that is not a letter or a digit is dropped: hyphens, spaces, dots, slashes, «№»;
- Latin letters that look like Cyrillic ones are folded to the Cyrillic letter (A B C E H K M O P T X Y, in
  either case): readers type a printed «А-12» on whichever keyboard layout is on. Two different cards that
  differ only by such a letter («A-12» in Latin and «А-12» in Cyrillic) would share a key: the dialogue then
  takes the one whose card is exactly what was typed, else none (``selectors.reader_by_card``);
- leading zeros are dropped from an all-digit card only: a spreadsheet keeps «00123» as the number 123 (the
  import reads Excel numbers as whole numbers, ``parsers/tabular.py``), while a CSV or IRBIS export keeps
  «00123»; the reader has «00123» printed on the card. So «00123» and «123» are the same card. A card with
  letters keeps its zeros («Д-0012» is not «Д-12»): no spreadsheet changes those.
"""

from __future__ import annotations

import unicodedata

KEY_LENGTH = 64

# Latin letters (case-folded) that look like Cyrillic ones (case-folded), folded to the Cyrillic letter.
LOOKALIKES = str.maketrans({
    "a": "а", "b": "в", "c": "с", "e": "е", "h": "н", "k": "к", "m": "м", "o": "о", "p": "р", "t": "т",
    "x": "х", "y": "у",
})


def card_key(card: str) -> str:
    """The comparable form of a card number (see the module's doc); "" for nothing usable."""
    text = unicodedata.normalize("NFKC", (card or "").replace("№", "")).casefold().replace("ё", "е")
    kept = "".join(ch for ch in text if ch.isalnum()).translate(LOOKALIKES)
    if kept.isdigit():
        kept = kept.lstrip("0") or "0"
    return kept[:KEY_LENGTH]

