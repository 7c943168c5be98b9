"""Clustering one connected component of the identity graph, with guards against chaining.

The result is a deterministic function of the component alone (its records, its auto edges,
the constraints and exclusive values touching it): the graph is built in sorted order, so the
order records arrived in never matters, and nothing outside the component is read. That is
what lets real time re-cluster only the component around a new record and still agree with
batch.

Guards, in order:

1. cannot-link pairs and exclusive attributes (two different values of a national id) are
   separated along a minimum cut of the component (edge capacity = match weight; must-links
   cannot be cut);
2. weak bridges: an edge whose removal splits the component into two groups of at least
   ``min_side`` records, with a weight below ``weak_weight``, is cut.

Every cut is reported as a :class:`Conflict` for review.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import networkx as nx

from app.matching.types import AttributeName, Conflict, RecordId

Pair = tuple[RecordId, RecordId]


@dataclass(frozen=True, slots=True)
class Guards:
    """The clustering guards' knobs."""

    weak_weight: float = 12.0
    min_side: int = 2


def components(records: Iterable[RecordId], links: Iterable[Pair]) -> list[tuple[RecordId, ...]]:
    """Connected components (each sorted), ordered by their smallest record."""
    graph: nx.Graph[RecordId] = nx.Graph()
    graph.add_nodes_from(records)
    graph.add_edges_from(links)
    return sorted((tuple(sorted(c)) for c in nx.connected_components(graph)), key=lambda c: c[0])


def cluster_component(
    records: tuple[RecordId, ...],
    edges: Mapping[Pair, float],
    *,
    must_link: Iterable[Pair],
    cannot_link: Iterable[Pair],
    exclusive: Mapping[RecordId, Mapping[AttributeName, str]],
    guards: Guards,
) -> tuple[list[tuple[RecordId, ...]], list[Conflict]]:
    """Split one component into clusters; ``edges`` maps ``(low, high)`` to match weight."""
    members = set(records)
    musts = sorted({_pair(a, b) for a, b in must_link if a in members and b in members})
    cannots = sorted({_pair(a, b) for a, b in cannot_link if a in members and b in members})
    exclusive_values = {r: exclusive[r] for r in records if exclusive.get(r)}
    if len(records) < 2 * guards.min_side and not cannots and not _has_exclusive(exclusive_values):
        return [tuple(sorted(records))], []
    graph = _graph(records, edges, musts)
    conflicts: list[Conflict] = []
    _separate_cannot_links(graph, cannots, conflicts)
    _separate_exclusive(graph, exclusive_values, conflicts)
    _cut_weak_bridges(graph, guards, conflicts)
    clusters = sorted(
        (tuple(sorted(c)) for c in nx.connected_components(graph)), key=lambda c: c[0]
    )
    return clusters, conflicts


def _pair(a: RecordId, b: RecordId) -> Pair:
    return (a, b) if a < b else (b, a)


def _has_exclusive(values: Mapping[RecordId, Mapping[AttributeName, str]]) -> bool:
    seen: dict[AttributeName, str] = {}
    for attributes in values.values():
        for name, value in attributes.items():
            if seen.setdefault(name, value) != value:
                return True
    return False


def _graph(
    records: tuple[RecordId, ...], edges: Mapping[Pair, float], musts: list[Pair]
) -> nx.Graph[RecordId]:
    graph: nx.Graph[RecordId] = nx.Graph()
    graph.add_nodes_from(sorted(records))
    for pair in sorted(edges):
        graph.add_edge(*pair, capacity=max(edges[pair], 0.0), weight=edges[pair])
    for a, b in musts:
        # No capacity attribute: networkx treats the edge as uncuttable.
        graph.add_edge(a, b, must=True)
        graph[a][b].pop("capacity", None)
    return graph


def _min_cut(
    graph: nx.Graph[RecordId], sources: list[RecordId], sinks: list[RecordId]
) -> list[Pair] | None:
    """Edges of a minimum cut between two groups; None when must-links forbid any cut."""
    flow: nx.DiGraph[object] = nx.DiGraph()
    for a, b, data in graph.edges(data=True):
        capacity = {"capacity": data["capacity"]} if "capacity" in data else {}
        flow.add_edge(a, b, **capacity)
        flow.add_edge(b, a, **capacity)
    source, sink = ("source",), ("sink",)
    flow.add_edges_from((source, s) for s in sources)
    flow.add_edges_from((t, sink) for t in sinks)
    try:
        _, (reachable, _) = nx.minimum_cut(flow, source, sink)
    except nx.NetworkXUnbounded:
        return None
    return sorted(_pair(a, b) for a, b in graph.edges() if (a in reachable) != (b in reachable))


def _separate_cannot_links(
    graph: nx.Graph[RecordId], cannots: list[Pair], conflicts: list[Conflict]
) -> None:
    for a, b in cannots:
        if not nx.has_path(graph, a, b):
            continue
        cut = _min_cut(graph, [a], [b])
        if cut is None:
            conflicts.append(Conflict("cannot_link", (a, b), "must-links join these records"))
            continue
        graph.remove_edges_from(cut)
        records = tuple(sorted({r for pair in cut for r in pair}))
        conflicts.append(Conflict("cannot_link", records, f"cannot-link {a}-{b}: cut {cut}"))


def _separate_exclusive(
    graph: nx.Graph[RecordId],
    values: Mapping[RecordId, Mapping[AttributeName, str]],
    conflicts: list[Conflict],
) -> None:
    attributes = sorted({name for v in values.values() for name in v})
    for name in attributes:
        while True:
            clash = _first_clash(graph, values, name)
            if clash is None:
                break
            (low, low_records), (high, high_records) = clash
            cut = _min_cut(graph, low_records, high_records)
            if cut is None:
                records = tuple(sorted(low_records + high_records))
                conflicts.append(Conflict("exclusive", records, f"{name}: must-links join"))
                break
            graph.remove_edges_from(cut)
            records = tuple(sorted({r for pair in cut for r in pair}))
            detail = f"{name}: {low!r} and {high!r} cannot share an identity; cut {cut}"
            conflicts.append(Conflict("exclusive", records, detail))


def _first_clash(
    graph: nx.Graph[RecordId],
    values: Mapping[RecordId, Mapping[AttributeName, str]],
    name: AttributeName,
) -> tuple[tuple[str, list[RecordId]], tuple[str, list[RecordId]]] | None:
    """The two smallest different values of an attribute inside one connected part."""
    for part in sorted((sorted(c) for c in nx.connected_components(graph)), key=lambda c: c[0]):
        by_value: dict[str, list[RecordId]] = {}
        for record in part:
            if (value := values.get(record, {}).get(name)) is not None:
                by_value.setdefault(value, []).append(record)
        if len(by_value) > 1:
            low, high = sorted(by_value)[:2]
            return (low, by_value[low]), (high, by_value[high])
    return None


def _cut_weak_bridges(graph: nx.Graph[RecordId], guards: Guards, conflicts: list[Conflict]) -> None:
    weak = []
    for a, b in sorted(_pair(a, b) for a, b in nx.bridges(graph)):
        data = graph[a][b]
        if data.get("must") or data.get("weight", 0.0) >= guards.weak_weight:
            continue
        graph.remove_edge(a, b)
        side = len(nx.node_connected_component(graph, a))
        other = len(nx.node_connected_component(graph, b))
        graph.add_edge(a, b, **data)
        if min(side, other) >= guards.min_side:
            weak.append((a, b, side, other, data["weight"]))
    for a, b, side, other, weight in weak:
        graph.remove_edge(a, b)
        detail = f"weak bridge {a}-{b} (weight {weight:.1f}) between {side} and {other} records"
        conflicts.append(Conflict("weak_bridge", (a, b), detail))
