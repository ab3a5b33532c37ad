"""Why a network never gives a figure: the statistics dashboards ask here instead of comparing network names."""

from __future__ import annotations

from filial.networks.registry import find


def stats_unknown_reason(network: str, field: str) -> str:
    """The network's own answer (its connector's ``stats_unknown_reason``), or "" when it gives ``field`` or the
    network is not known here."""
    spec = find(network)
    if spec is None:
        return ""
    return spec.connector_class().stats_unknown_reason(field)
