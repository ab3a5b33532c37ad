"""The libraries' pages: ``dashboard`` (the network overview), ``units`` (unit management, administrators)."""
