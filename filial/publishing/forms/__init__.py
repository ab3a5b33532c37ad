"""Publishing's forms, one module per topic: ``posts`` (the composer, filters, review), ``events``."""
