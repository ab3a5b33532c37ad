"""3M Standard Interchange Protocol 2.00: messages (``protocol``), a TCP client (``client``), an ACS (``emulator``)."""
