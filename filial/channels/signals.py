"""The channels' hook for what sends through a page.

``page_resumed`` (keyword ``channel_id``) is sent once a page that needed re-authorisation is active again, after the
transaction that reactivated it commits. The outbox listens and queues the page's waiting work at once; without the
signal its sweeper would within a minute.
"""

from __future__ import annotations

from django.dispatch import Signal

page_resumed = Signal()
