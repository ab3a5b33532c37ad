"""Statistics from the networks: each page's audience and each publication's figures, one snapshot a day.

A figure a network does not give (to this kind of token, or because the request failed) is stored as ``None`` and
shown as unknown, never as zero.
"""
