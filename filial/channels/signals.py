"""The channels' hook for what sends through a page.

``page_resumed`` (keyword ``channel_id``) is sent once a page that needed re-authorisation is active again, after the
transaction that reactivated it commits. The outbox listens and queues the page's waiting work at once; without the
signal its sweeper would within a minute.

``audience_measured`` (keywords ``channel``, ``audience``, ``at``) is sent, inside the transaction, when the network
told a page's audience (the page connected or checked again). The statistics (``filial/stats``) store it as the
day's figure; the channels app does not keep a history of its own.
"""

from __future__ import annotations

from django.dispatch import Signal

page_resumed = Signal()
audience_measured = Signal()
