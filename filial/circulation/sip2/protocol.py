"""SIP2 messages: building, checksums (AZ), sequence numbers (AY), parsing, dates.

A message is a two-digit code, fixed-length fields, then variable fields ``XXvalue|`` (a two-letter tag, the value,
a pipe). With error detection on, ``AY<n>`` (0–9) and ``AZ<4 hex digits>`` close the message, and CR ends it. The
checksum is the two's complement of the 16-bit sum of the bytes of the message up to and including ``AZ``; the bytes
are those of the message in the link's encoding (cp850 on old self-check machines, cp1251 or UTF-8 in Russian
libraries), so checksums are computed on the encoded form.

Due dates (``AH``) are free text in practice (``20260214    235900``, ``14.02.2026``, ``5/23/2008,23:59``…):
:func:`parse_due` reads the common forms and returns ``None`` for the rest, and callers keep the raw text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

TERMINATOR = b"\r"
ENCODINGS = ("utf-8", "cp1251", "cp850")

# message codes
LOGIN, LOGIN_RESPONSE = "93", "94"
SC_STATUS, ACS_STATUS = "99", "98"
PATRON_INFO, PATRON_INFO_RESPONSE = "63", "64"
ITEM_INFO, ITEM_INFO_RESPONSE = "17", "18"
RENEW, RENEW_RESPONSE = "29", "30"
RENEW_ALL, RENEW_ALL_RESPONSE = "65", "66"
END_SESSION, END_SESSION_RESPONSE = "35", "36"
SC_RESEND, ACS_RESEND = "97", "96"  # 97: the SC asks the ACS to resend; 96: the ACS asks the SC to resend
PATRON_STATUS, PATRON_STATUS_RESPONSE = "23", "24"
CHECKOUT, CHECKOUT_RESPONSE = "11", "12"
CHECKIN, CHECKIN_RESPONSE = "09", "10"

# widths of the fixed-length fields of the messages read here (3M SIP2 2.00 developer's guide)
FIXED_LAYOUT: dict[str, tuple[tuple[str, int], ...]] = {
    LOGIN: (("uid_algorithm", 1), ("pwd_algorithm", 1)),
    LOGIN_RESPONSE: (("ok", 1),),
    SC_STATUS: (("status_code", 1), ("max_print_width", 3), ("protocol_version", 4)),
    ACS_STATUS: (("online", 1), ("checkin_ok", 1), ("checkout_ok", 1), ("renewal_policy", 1),
                 ("status_update_ok", 1), ("offline_ok", 1), ("timeout_period", 3), ("retries_allowed", 3),
                 ("date", 18), ("protocol_version", 4)),
    PATRON_INFO: (("language", 3), ("date", 18), ("summary", 10)),
    PATRON_INFO_RESPONSE: (("patron_status", 14), ("language", 3), ("date", 18), ("hold_count", 4),
                           ("overdue_count", 4), ("charged_count", 4), ("fine_count", 4), ("recall_count", 4),
                           ("unavailable_holds_count", 4)),
    ITEM_INFO: (("date", 18),),
    ITEM_INFO_RESPONSE: (("circulation_status", 2), ("security_marker", 2), ("fee_type", 2), ("date", 18)),
    RENEW: (("third_party_allowed", 1), ("no_block", 1), ("date", 18), ("nb_due_date", 18)),
    RENEW_RESPONSE: (("ok", 1), ("renewal_ok", 1), ("magnetic_media", 1), ("desensitize", 1), ("date", 18)),
    RENEW_ALL: (("date", 18),),
    RENEW_ALL_RESPONSE: (("ok", 1), ("renewed_count", 4), ("unrenewed_count", 4), ("date", 18)),
    END_SESSION: (("date", 18),),
    END_SESSION_RESPONSE: (("end_session", 1), ("date", 18)),
    SC_RESEND: (),
    ACS_RESEND: (),
    PATRON_STATUS: (("language", 3), ("date", 18)),
    CHECKOUT: (("renewal_policy", 1), ("no_block", 1), ("date", 18), ("nb_due_date", 18)),
    CHECKIN: (("no_block", 1), ("date", 18), ("return_date", 18)),
}

# The character class of each fixed field (3M SIP2 2.00): a date is ``YYYYMMDDZZZZHHMMSS`` (ZZZZ: four blanks for
# local time or a right-aligned zone such as ``   Z``), a flag Y or N (``ynu``: also U for unknown), ``01`` a 0 or 1,
# a language or width three digits, a count four digits (blanks: unknown), a summary or patron status Y or blank.
FIELD_FORMATS: dict[str, str] = {
    "date": r"\d{8}(?: {4}| {3}[A-Z]| {2}[A-Z]{2}| [A-Z]{3}|[A-Z]{4})\d{6}",
    "yn": r"[YN]", "ynu": r"[YNU]", "01": r"[01]", "char": r"[\x20-\x7e]", "status_code": r"[012]",
    "digits3": r"\d{3}", "digits2": r"\d{2}", "count4": r"\d{4}| {4}", "version": r"\d\.\d{2}",
    "summary": r"[Y ]{10}", "patron_status": r"[Y ]{14}", "supported": r"[YN]{16}",
}
_FORMAT_OF_NAME = {
    "uid_algorithm": "char", "pwd_algorithm": "char", "ok": "01", "status_code": "status_code",
    "max_print_width": "digits3", "protocol_version": "version", "language": "digits3", "summary": "summary",
    "patron_status": "patron_status", "third_party_allowed": "yn", "no_block": "yn", "renewal_policy": "yn",
    "renewal_ok": "yn", "magnetic_media": "ynu", "desensitize": "ynu", "end_session": "yn", "online": "yn",
    "checkin_ok": "yn", "checkout_ok": "yn", "status_update_ok": "yn", "offline_ok": "yn",
    "timeout_period": "digits3", "retries_allowed": "digits3", "circulation_status": "digits2",
    "security_marker": "digits2", "fee_type": "digits2", "renewed_count": "count4", "unrenewed_count": "count4",
}
_COMPILED_FORMATS = {name: re.compile(pattern) for name, pattern in FIELD_FORMATS.items()}


def field_format(name: str) -> str:
    """The format (a key of :data:`FIELD_FORMATS`) of the fixed field ``name``."""
    if name == "date" or name.endswith("_date"):
        return "date"
    if name.endswith("_count"):
        return "count4"
    return _FORMAT_OF_NAME[name]


def fixed_field_problem(name: str, value: str) -> str | None:
    """Why ``value`` is not a valid fixed field ``name`` (a description), or ``None`` when it is."""
    kind = field_format(name)
    if not _COMPILED_FORMATS[kind].fullmatch(value):
        return f"{name} {value!r} is not a {kind} field"
    if kind == "date":
        try:
            datetime.strptime(value[:8] + value[12:], "%Y%m%d%H%M%S")
        except ValueError:
            return f"{name} {value!r} is not a real date and time"
    return None


# The variable fields of the requests an SC sends (3M SIP2 2.00): required, then optional tags. AY and AZ close the
# message when error detection is on; no request field repeats.
REQUEST_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    LOGIN: (("CN", "CO"), ("CP",)),
    SC_STATUS: ((), ()),
    PATRON_STATUS: (("AO", "AA", "AC", "AD"), ()),
    PATRON_INFO: (("AO", "AA"), ("AC", "AD", "BP", "BQ")),
    ITEM_INFO: (("AO", "AB"), ("AC",)),
    CHECKOUT: (("AO", "AA", "AB", "AC"), ("CH", "AD", "BO", "BI")),
    CHECKIN: (("AP", "AO", "AB", "AC"), ("CH", "BI")),
    RENEW: (("AO", "AA"), ("AD", "AB", "AJ", "AC", "CH", "BO")),
    RENEW_ALL: (("AO", "AA"), ("AD", "AC", "BO")),
    END_SESSION: (("AO", "AA"), ("AC", "AD")),
    SC_RESEND: ((), ()),
}
_VALUE_FORMATS = {"BO": re.compile(r"[YN]"), "BI": re.compile(r"[YN]"), "BP": re.compile(r"\d{1,5}"),
                  "BQ": re.compile(r"\d{1,5}")}
MAX_FIELD_LENGTH = 255

# patron status (64, 14 characters): position → meaning when "Y"
PATRON_STATUS_FLAGS = ("charge_denied", "renewal_denied", "recall_denied", "hold_denied", "card_lost",
                       "too_many_charged", "too_many_overdue", "too_many_renewals", "too_many_claims",
                       "too_many_lost", "excessive_fines", "excessive_fees", "recall_overdue", "too_many_billed")
# summary (63, 10 characters): which item list the 64 should carry
SUMMARY_POSITIONS = {"hold": 0, "overdue": 1, "charged": 2, "fine": 3, "recall": 4, "unavailable_hold": 5}
# circulation status (18)
CIRCULATION_STATUS = {"01": "other", "02": "on order", "03": "available", "04": "charged",
                      "05": "charged; not to be recalled until earliest recall date", "06": "in process",
                      "07": "recalled", "08": "waiting on hold shelf", "09": "waiting to be re-shelved",
                      "10": "in transit", "11": "claimed returned", "12": "lost", "13": "missing"}

_TAG = re.compile(r"[A-Z][A-Z]")


class ProtocolError(ValueError):
    """A message that cannot be read (too short, no checksum where one is required, bad fields)."""


class ChecksumError(ProtocolError):
    """A message whose checksum (AZ) is missing or wrong: a transmission error, answered by asking for a resend."""


def checksum(data: bytes) -> str:
    """The AZ value of ``data`` (everything up to and including "AZ"): 4 upper-case hex digits."""
    return f"{(-sum(data)) & 0xFFFF:04X}"


def verify_checksum(message: bytes) -> bool:
    """True if ``message`` (without the CR) ends with ``AZxxxx`` and the sum of all its bytes is 0 modulo 2^16."""
    body = message.rstrip(TERMINATOR)
    if len(body) < 6 or body[-6:-4] != b"AZ":
        return False
    try:
        value = int(body[-4:].decode("ascii"), 16)
    except ValueError:
        return False
    return (sum(body[:-4]) + value) & 0xFFFF == 0


def sip_datetime(moment: datetime | None = None) -> str:
    """The 18-character SIP2 date: ``YYYYMMDDZZZZHHMMSS``; an aware UTC moment gets the zone ``   Z``."""
    moment = moment or datetime.now(UTC)
    zone = "    "
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
        zone = "   Z"
    return moment.strftime("%Y%m%d") + zone + moment.strftime("%H%M%S")


_DUE_FORMATS = (
    (re.compile(r"^(\d{4})(\d{2})(\d{2})[ Z\w]{4}\d{6}$"), "ymd"),  # SIP2 date: 20260214    235900
    (re.compile(r"^(\d{4})(\d{2})(\d{2})$"), "ymd"),  # 20260214
    (re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?$"), "ymd"),  # 2026-02-14, 2026-02-14T23:59:00Z
    (re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})(?:[ ,T].*)?$"), "dmy"),  # 14.02.2026 (Russia, Germany)
    (re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:[ ,T].*)?$"), "mdy"),  # 5/23/2008,23:59 (US ILSs)
    (re.compile(r"^(\d{1,2})-(\d{1,2})-(\d{4})(?:[ ,T].*)?$"), "dmy"),  # 14-02-2026
)


def parse_due(text: str) -> date | None:
    """The date in a due-date text as ACSs send it, or ``None`` when it is not one of the common forms."""
    value = text.strip()
    for pattern, order in _DUE_FORMATS:
        match = pattern.match(value)
        if match is None:
            continue
        a, b, c = (int(part) for part in match.groups())
        year, month, day = {"ymd": (a, b, c), "dmy": (c, b, a), "mdy": (c, a, b)}[order]
        if order == "mdy" and a > 12 >= b:  # 23/5/2008: day first after all
            month, day = b, a
        try:
            return date(year, month, day)
        except ValueError:
            return None
    return None


def parse_sip_datetime(text: str) -> datetime | None:
    """A fixed SIP2 date (``YYYYMMDDZZZZHHMMSS``) as a naive (local) or UTC datetime, or ``None``."""
    if len(text) != 18 or not (text[:8].isdigit() and text[12:].isdigit()):
        return None
    try:
        moment = datetime.strptime(text[:8] + text[12:], "%Y%m%d%H%M%S")
    except ValueError:
        return None
    zone = text[8:12].strip()
    if zone == "Z":
        return moment.replace(tzinfo=UTC)
    return moment


def due_text(day: date, style: str = "sip") -> str:
    """A due date as an ACS writes it (the emulator's ``due_format``): ``sip`` or a strftime pattern."""
    if style == "sip":
        return sip_datetime(datetime.combine(day, datetime.min.time()) + timedelta(hours=23, minutes=59))
    return day.strftime(style)


@dataclass
class Message:
    """One SIP2 message. ``fields`` keeps the order and repeats (AU, BM… come many times)."""

    code: str
    fixed: dict[str, str] = field(default_factory=dict)
    fields: list[tuple[str, str]] = field(default_factory=list)
    sequence: int | None = None
    checksum: str = ""
    checksum_ok: bool | None = None  # None: the message carried no checksum

    def get(self, tag: str, default: str = "") -> str:
        for key, value in self.fields:
            if key == tag:
                return value
        return default

    def get_all(self, tag: str) -> list[str]:
        return [value for key, value in self.fields if key == tag]

    def flag(self, name: str) -> bool:
        """A fixed Y/N (or 1/0) field as a boolean."""
        return self.fixed.get(name, "").strip() in {"Y", "1"}

    def count(self, name: str) -> int:
        value = self.fixed.get(name, "").strip()
        return int(value) if value.isdigit() else 0


def encode(message: Message, *, encoding: str = "utf-8", sequence: int | None = None,
           error_detection: bool = True, errors: str = "strict", strict: bool = True) -> bytes:
    """The wire form of ``message``: code, fixed fields in layout order, variable fields, AY/AZ, CR.

    ``strict``: every fixed field must also be of its character class (:func:`fixed_field_problem`), so nothing
    builds a message a strict ACS would close the connection on (blanks for a date, "X" for a Y/N flag)."""
    layout = FIXED_LAYOUT.get(message.code, ())
    text = message.code
    for name, width in layout:
        value = message.fixed.get(name, "")
        if len(value) != width:
            raise ProtocolError(f"fixed field {name} of {message.code} must be {width} characters, got {value!r}")
        problem = fixed_field_problem(name, value) if strict else None
        if problem is not None:
            raise ProtocolError(f"message {message.code}: {problem}")
        text += value
    for tag, value in message.fields:
        if "|" in value or "\r" in value:
            raise ProtocolError(f"field {tag} may not contain '|' or CR")
        text += f"{tag}{value}|"
    data = text.encode(encoding, errors)
    if error_detection:
        if sequence is not None:
            data += f"AY{sequence % 10}".encode("ascii")
        data += b"AZ"
        data += checksum(data).encode("ascii")
    return data + TERMINATOR


def decode(raw: bytes, *, encoding: str = "utf-8") -> Message:
    """Parse one message (with or without its CR). Fields after the fixed part are read tag by tag."""
    body = raw.rstrip(b"\r\n")
    checksum_ok: bool | None = None
    check = ""
    if len(body) >= 6 and body[-6:-4] == b"AZ":
        checksum_ok = verify_checksum(body)
        check = body[-4:].decode("ascii", "replace")
        body = body[:-6]
    text = body.decode(encoding, errors="replace")
    if len(text) < 2 or not text[:2].isdigit():
        raise ProtocolError(f"not a SIP2 message: {text[:20]!r}")
    code = text[:2]
    layout = FIXED_LAYOUT.get(code, ())
    width = sum(w for _, w in layout)
    fixed_text = text[2:2 + width]
    if len(fixed_text) < width:
        raise ProtocolError(f"message {code} is too short for its fixed fields ({len(text)} characters)")
    fixed: dict[str, str] = {}
    position = 0
    for name, size in layout:
        fixed[name] = fixed_text[position:position + size]
        position += size
    rest = text[2 + width:]
    sequence: int | None = None
    fields: list[tuple[str, str]] = []
    # the sequence number closes the message ("…|AY3"); a lone "AY3" without a pipe before it is allowed too
    tail = re.search(r"(?:^|\|)AY(\d)$", rest)
    if tail is not None:
        sequence = int(tail.group(1))
        rest = rest[:tail.start() + (1 if rest[tail.start():tail.start() + 1] == "|" else 0)]
    for chunk in rest.split("|"):
        if not chunk:
            continue
        tag, value = chunk[:2], chunk[2:]
        if not _TAG.fullmatch(tag):
            # some ACSs pad fields with spaces or send stray text; keep it under an empty tag instead of failing
            fields.append(("", chunk))
            continue
        fields.append((tag, value))
    return Message(code, fixed, fields, sequence, check, checksum_ok)


_VARIABLE_FIELD = re.compile(r"([A-Z]{2})([^|]*)\|")


def check_request(raw: bytes, *, encoding: str = "utf-8", error_detection: bool = False,
                  sequence: int | None = None) -> Message:
    """Read a request as a strict ACS does, or raise :class:`ProtocolError` saying what is wrong.

    Written from the 3M SIP2 2.00 specification: a known request code; every fixed field of its width and character
    class (dates ``YYYYMMDDZZZZHHMMSS`` that are real dates, Y/N flags, three-digit language, ten-character summary
    of Y and blanks…); then only ``XXvalue|`` fields, each terminated by ``|``, the required ones present, none
    unknown to the message or repeated, none longer than 255 characters; then ``AY<digit>AZ<4 hex digits>`` when
    ``error_detection`` (or whenever ``AZ`` is there), with a correct checksum (a wrong one raises
    :class:`ChecksumError`) and, when ``sequence`` is given, that sequence number. ``raw`` may end with its CR."""
    body = raw[:-1] if raw.endswith(TERMINATOR) else raw
    if TERMINATOR in body or b"\n" in body or b"\x00" in body:
        raise ProtocolError("a CR, LF or NUL inside the message")
    code_bytes = body[:2]
    has_checksum = len(body) >= 6 and body[-6:-4] == b"AZ"
    if error_detection and not has_checksum:
        raise ChecksumError("no checksum (AZ) at the end of the message")
    got_sequence: int | None = None
    if has_checksum:
        if not verify_checksum(body):
            raise ChecksumError(f"wrong checksum AZ{body[-4:].decode('ascii', 'replace')}")
        body = body[:-6]
        if code_bytes != SC_RESEND.encode():
            if len(body) < 3 or body[-3:-1] != b"AY" or not body[-1:].isdigit():
                raise ProtocolError("no sequence number (AY and one digit) before the checksum")
            got_sequence = body[-1] - ord("0")
            body = body[:-3]
    if sequence is not None and got_sequence != sequence:
        raise ProtocolError(f"sequence number AY{got_sequence} where AY{sequence} was expected")
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"not valid {encoding}: {exc}") from exc
    code = text[:2]
    if code not in REQUEST_FIELDS:
        raise ProtocolError(f"unknown request code {code!r}")
    position = 2
    fixed: dict[str, str] = {}
    for name, width in FIXED_LAYOUT[code]:
        value = text[position:position + width]
        if len(value) != width:
            raise ProtocolError(f"message {code} ends inside its fixed field {name}")
        problem = fixed_field_problem(name, value)
        if problem is not None:
            raise ProtocolError(f"message {code}: {problem}")
        fixed[name] = value
        position += width
    rest = text[position:]
    fields: list[tuple[str, str]] = []
    while rest:
        match = _VARIABLE_FIELD.match(rest)
        if match is None:
            raise ProtocolError(f"message {code}: {rest[:20]!r} is not a field terminated by '|'")
        fields.append((match.group(1), match.group(2)))
        rest = rest[match.end():]
    required, optional = REQUEST_FIELDS[code]
    tags = [tag for tag, _value in fields]
    for tag, value in fields:
        if tag not in required and tag not in optional:
            raise ProtocolError(f"message {code} has no field {tag}")
        if tags.count(tag) > 1:
            raise ProtocolError(f"message {code}: field {tag} repeated")
        if len(value) > MAX_FIELD_LENGTH:
            raise ProtocolError(f"message {code}: field {tag} longer than {MAX_FIELD_LENGTH} characters")
        pattern = _VALUE_FORMATS.get(tag)
        if pattern is not None and not pattern.fullmatch(value):
            raise ProtocolError(f"message {code}: field {tag} {value!r} is not valid")
    missing = [tag for tag in required if tag not in tags]
    if missing:
        raise ProtocolError(f"message {code} lacks the required field(s) {', '.join(missing)}")
    return Message(code, fixed, fields, got_sequence, checksum_ok=True if has_checksum else None)


def summary(*wanted: str) -> str:
    """The 10-character summary of a 63 asking for the given item lists (``charged``, ``overdue``…)."""
    chars = [" "] * 10
    for name in wanted:
        chars[SUMMARY_POSITIONS[name]] = "Y"
    return "".join(chars)


def patron_status(flags: set[str] | frozenset[str] = frozenset()) -> str:
    return "".join("Y" if name in flags else " " for name in PATRON_STATUS_FLAGS)


def patron_flags(status: str) -> set[str]:
    return {name for name, char in zip(PATRON_STATUS_FLAGS, status, strict=False) if char == "Y"}
