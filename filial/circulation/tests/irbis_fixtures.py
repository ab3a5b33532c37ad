"""IRBIS64 RDR records built byte by byte for the tests (leader, directory, fields, terminators)."""

from __future__ import annotations


def iso_record(fields: list[tuple[str, str]], encoding: str = "cp1251") -> bytes:
    """One ISO 2709 record as IRBIS64 exports it: no indicators, subfields as ``^x`` → 0x1F x."""
    body = b""
    directory = b""
    for tag, text in fields:
        data = text.replace("^", "\x1f").encode(encoding) + b"\x1e"
        directory += tag.encode() + f"{len(data):04d}{len(body):05d}".encode()
        body += data
    base = 24 + len(directory) + 1
    length = base + len(body) + 1
    leader = f"{length:05d}nam  02{base:05d}   450 ".encode()
    assert len(leader) == 24
    return leader + directory + b"\x1e" + body + b"\x1d"


def reader_record(card: str, family: str, first: str, patronymic: str, loans: list[str],
                  encoding: str = "cp1251") -> bytes:
    fields = [("010", family), ("011", first), ("012", patronymic), ("030", card)]
    fields += [("040", loan) for loan in loans]
    return iso_record(fields, encoding)
