"""The inbox's pages, one module per topic: ``conversations`` (the inbox, replies, notes, settings), ``polls``
(poll results across networks), ``privacy`` (a person's data by their network identity)."""
