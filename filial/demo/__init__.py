"""The demo network of the Mednogorsk libraries (``filial demo``; loaded by ``filial run`` into an empty database)."""
