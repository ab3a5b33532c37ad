"""The file adapter: the loans are those imported from the library system's exports; nobody online to ask for a
renewal, so renewals go to a librarian's queue in Filial."""

from __future__ import annotations

from typing import ClassVar

from filial.circulation.adapters.base import Adapter, LoanRecord, ReaderRecord, RenewalResult, UnknownReader
from filial.circulation.models import Loan, Reader


class FileAdapter(Adapter):
    name: ClassVar[str] = "file"
    online: ClassVar[bool] = False

    def reader(self, card: str) -> ReaderRecord:
        # The only adapter that reads Filial's own tables: its "library system" is the last import.
        reader = Reader.objects.filter(card=card, system_id=self.settings.get("system_id")).first()
        if reader is None:
            raise UnknownReader(card)
        loans = [
            LoanRecord(barcode=loan.barcode, title=loan.title, issued=loan.issued, due=loan.due,
                       returned=loan.returned, renewals=loan.renewals, external_id=loan.external_id)
            for loan in Loan.objects.filter(reader=reader, returned__isnull=True)
        ]
        return ReaderRecord(card=card, name=reader.name, loans=loans)

    def renew(self, card: str, barcode: str) -> RenewalResult:
        return RenewalResult(barcode=barcode, renewed=False, reason="", reason_code="queued")
