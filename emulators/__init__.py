"""Filial's local emulators: development and demo tools, not part of the ``filial`` package or its wheel.

- ``base``: the WSGI emulator base (``EmulatorApp``, ``ServedEmulator``: loopback only, HTTP/1.1 keep-alive).
- ``networks.vk``, ``networks.ok``, ``networks.telegram``, ``networks.max``: the social networks' APIs as Filial's
  connectors use them (each network's ``NetworkSpec.emulator`` names its class by dotted path).
- ``circulation.sip2`` (a strict 3M SIP2 ACS over TCP), ``circulation.koha`` (Koha's REST API): the library
  systems' side of loan sync.
- ``hosting``: serves the network emulators for ``filial emulators`` / ``filial run`` (the demo's pages).

Installed next to Filial by the Makefile (``pip install -e ./emulators``); Filial runs without them and only its
demo and its tests need them.
"""
