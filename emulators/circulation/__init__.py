"""The library systems' emulators for loan sync: ``sip2`` (TCP ACS), ``koha`` (REST API)."""
