"""3M Standard Interchange Protocol 2.00: messages (``protocol``), a TCP client (``client``); the ACS emulator is
``emulators.circulation.sip2`` outside this package."""
