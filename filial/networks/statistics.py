"""What each network gives the statistics (``filial/stats``), for the job and for the pages that show the figures.

A figure a network does not give to the kind of token a page holds is unknown (stored as None, never 0); the
network's connector names it in ``stats_unknown`` with the reason a person reads («Telegram не сообщает ботам число
просмотров»). Dashboards call :func:`unknown_figures` to say why a column is empty.
"""

from __future__ import annotations

from filial.networks import registry
from filial.networks.base import STAT_FIELDS


def unknown_figures(network: str) -> dict[str, str]:
    """The figures (of ``STAT_FIELDS``) this network does not give, each with its reason, translated now."""
    spec = registry.find(network)
    if spec is None:
        return {}
    return {name: str(reason) for name, reason in spec.connector_class().stats_unknown.items()}


def gives(network: str, figure: str) -> bool:
    """True when the network gives ``figure`` (one of ``STAT_FIELDS``) to a page's token."""
    if figure not in STAT_FIELDS:
        raise ValueError(f"unknown figure {figure!r}")
    spec = registry.find(network)
    return spec is not None and figure not in spec.connector_class().stats_unknown


def keeps_history(network: str) -> bool:
    """True when the network keeps a page's audience per past day (a backfill can read it)."""
    spec = registry.find(network)
    return spec is not None and spec.connector_class().audience_history


__all__ = ["STAT_FIELDS", "gives", "keeps_history", "unknown_figures"]
