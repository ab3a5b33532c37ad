"""A small, strict ISO 2709 reader (the exchange format behind MARC21, RUSMARC and IRBIS64 exports).

It trusts nothing it has not checked: the leader's digits, the directory's entries, each field's terminator and
the record terminator. Lengths and offsets count bytes, so the record is cut on bytes and each field decoded
afterwards (UTF-8, else cp1251). Nothing MARC21-specific is assumed beyond the structure.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

RECORD_END = 0x1D
FIELD_END = 0x1E
SUBFIELD = 0x1F


class IsoError(ValueError):
    """The file is not well-formed ISO 2709; the message says where."""


@dataclass
class IsoField:
    tag: str
    indicators: str = ""
    value: str = ""  # a field without subfields (control fields, IRBIS plain fields)
    subfields: list[tuple[str, str]] = field(default_factory=list)

    def first(self, code: str) -> str:
        code = code.lower()
        return next((v for c, v in self.subfields if c.lower() == code), "")


@dataclass
class IsoRecord:
    leader: str
    fields: list[IsoField]

    def all(self, tag: str) -> list[IsoField]:
        return [f for f in self.fields if f.tag == tag]

    def value(self, tag: str) -> str:
        for f in self.all(tag):
            return f.value or (f.subfields[0][1] if f.subfields else "")
        return ""


def _decode(raw: bytes, encoding: str | None) -> str:
    if encoding:
        return raw.decode(encoding)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1251", errors="strict")


def _digits(chunk: bytes, what: str, number: int, offset: int) -> int:
    if not chunk.isdigit():
        raise IsoError(_("Record %(n)s (byte %(offset)s): the %(what)s is not a number.")
                       % {"n": number, "offset": offset, "what": what})
    return int(chunk)


def read_records(data: bytes, encoding: str | None = None) -> Iterator[IsoRecord]:
    """Every record of ``data``; raises :class:`IsoError` at the first structural fault."""
    pos = 0
    number = 0
    size = len(data)
    while pos < size:
        if data[pos:pos + 1] in (b"\r", b"\n", b" ") and not data[pos:].strip():
            return  # trailing line breaks some exporters add
        if data[pos:pos + 1] in (b"\r", b"\n"):
            pos += 1
            continue
        number += 1
        yield _read_record(data, pos, number)
        pos += int(data[pos:pos + 5])


def _read_record(data: bytes, start: int, number: int) -> IsoRecord:
    leader_raw = data[start:start + 24]
    if len(leader_raw) < 24:
        raise IsoError(_("Record %(n)s: the file ends inside the record's leader.") % {"n": number})
    length = _digits(leader_raw[0:5], _("record length"), number, start)
    ind_count = _digits(leader_raw[10:11], _("indicator count"), number, start + 10)
    code_len = _digits(leader_raw[11:12], _("subfield code length"), number, start + 11)
    base = _digits(leader_raw[12:17], _("base address of data"), number, start + 12)
    len_len = _digits(leader_raw[20:21], _("directory map"), number, start + 20)
    pos_len = _digits(leader_raw[21:22], _("directory map"), number, start + 21)
    if length < 26 or base < 25 or base > length or len_len == 0 or pos_len == 0:
        raise IsoError(_("Record %(n)s: the leader's lengths are impossible.") % {"n": number})
    record = data[start:start + length]
    if len(record) < length:
        raise IsoError(_("Record %(n)s: the file is truncated (%(have)s of %(need)s bytes).")
                       % {"n": number, "have": len(record), "need": length})
    if record[-1] != RECORD_END:
        raise IsoError(_("Record %(n)s: the record terminator is missing.") % {"n": number})
    if record[base - 1] != FIELD_END:
        raise IsoError(_("Record %(n)s: the directory does not end where the leader says.") % {"n": number})
    entry = 3 + len_len + pos_len
    directory = record[24:base - 1]
    if len(directory) % entry:
        raise IsoError(_("Record %(n)s: the directory is malformed.") % {"n": number})
    try:
        leader = leader_raw.decode("ascii")
    except UnicodeDecodeError as exc:
        raise IsoError(_("Record %(n)s: the leader is not plain ASCII.") % {"n": number}) from exc
    fields: list[IsoField] = []
    for i in range(0, len(directory), entry):
        item = directory[i:i + entry]
        try:
            tag = item[0:3].decode("ascii")
        except UnicodeDecodeError as exc:
            raise IsoError(_("Record %(n)s: a directory tag is not ASCII.") % {"n": number}) from exc
        flen = _digits(item[3:3 + len_len], _("field length"), number, start + 24 + i)
        fpos = _digits(item[3 + len_len:entry], _("field position"), number, start + 24 + i)
        begin = base + fpos
        end = begin + flen
        if flen < 1 or end > length - 1:
            raise IsoError(_("Record %(n)s, field %(tag)s: it lies outside the record.") % {"n": number, "tag": tag})
        raw = record[begin:end]
        if raw[-1] != FIELD_END:
            raise IsoError(_("Record %(n)s, field %(tag)s: the field terminator is missing.")
                           % {"n": number, "tag": tag})
        fields.append(_parse_field(tag, raw[:-1], ind_count, code_len, number))
    return IsoRecord(leader, fields)


def _parse_field(tag: str, raw: bytes, ind_count: int, code_len: int, number: int) -> IsoField:
    try:
        if tag.startswith("00") or SUBFIELD not in raw:
            # control field, or a plain field: indicators (if any) precede the text only where subfields follow
            body = raw[ind_count:] if (not tag.startswith("00") and SUBFIELD in raw[ind_count:ind_count + 1]) else raw
            return IsoField(tag, value=_decode(body, None))
        first = raw.index(SUBFIELD)
        indicators = _decode(raw[:first], None)
        subfields = []
        for part in raw[first + 1:].split(bytes([SUBFIELD])):
            if not part:
                continue
            width = max(code_len - 1, 1)
            subfields.append((_decode(part[:width], None), _decode(part[width:], None)))
        return IsoField(tag, indicators=indicators, subfields=subfields)
    except UnicodeDecodeError as exc:
        raise IsoError(_("Record %(n)s, field %(tag)s: the text is neither UTF-8 nor Windows-1251.")
                       % {"n": number, "tag": tag}) from exc
