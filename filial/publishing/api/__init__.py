"""The publishing app's API, one module per topic (``filial/api_urls.py`` routes them):

- ``photos``: ``MediaViewSet`` — upload a photo, read it and its resized copies;
- ``posts``: ``PostViewSet`` — compose, edit, submit, approve, return, cancel;
- ``deliveries``: ``DeliveryViewSet`` — one post on one page, read only;
- ``events``: ``EventViewSet`` — the library's events;
- ``common``: what they share (local times, related fields, duplicates).

Thin: parse and check the shape of the input here, let the services decide what is allowed, read through
``selectors``. Times without an offset are the unit's wall clock.
"""
