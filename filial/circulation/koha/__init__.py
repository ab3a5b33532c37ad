"""Koha's REST API: a local emulator of the parts Filial uses (``emulator``)."""
