"""Real-time scoring cost: a page of arriving records scored against their candidates.

The service resolves a page of records at once: it prepares them, finds candidates through
stored blocking keys, scores every (record, candidate) pair and re-clusters the components the
page touched. This measures the matcher's share of that work on the synthetic data: per pair
with :meth:`Matcher.compare`, per record with :meth:`Matcher.score_candidates`, per page with
:meth:`Matcher.score_pairs`, and the clustering of the touched components.

    python -m bench scoring --page 1000 --candidates 5
"""

from __future__ import annotations

import argparse
import random
import time
from collections import defaultdict
from collections.abc import Callable
from itertools import islice

from app.matching import Matcher, PreparedRecord, ScoredEdge, load_match_config
from bench.data import dataset
from bench.run_huella import read


def _timed(label: str, records: int, pairs: int, work: Callable[[], object]) -> object:
    start = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - start
    print(
        f"  {label:<42} {seconds * 1000:>9.1f} ms  {seconds * 1e6 / records:>8.0f} µs/record"
        f"  {seconds * 1e6 / pairs:>7.0f} µs/pair",
        flush=True,
    )
    return result


def _candidates(
    page: list[PreparedRecord], stored: list[PreparedRecord], matcher: Matcher, per_record: int
) -> list[tuple[PreparedRecord, PreparedRecord]]:
    """``per_record`` candidates for each arrival: stored records sharing a non-generic key
    first, then random ones (a large store finds more candidates than this small one)."""
    rng = random.Random(11)
    holders: dict[str, list[PreparedRecord]] = defaultdict(list)
    for record in stored:
        for key in record.keys:
            holders[key].append(record)
    pairs = []
    for record in page:
        found: dict[int, PreparedRecord] = {}
        for key in record.keys:
            if not matcher.is_generic(key, len(holders[key])):
                found.update((o.id, o) for o in holders[key] if o.id != record.id)
        while len(found) < per_record:
            other = rng.choice(stored)
            if other.id != record.id:
                found.setdefault(other.id, other)
        for other in islice(sorted(found.values(), key=lambda r: r.id), per_record):
            pairs.append((record, other))
    return pairs


def main(argv: list[str]) -> int:
    """Score one page of synthetic arrivals every way and print the cost of each."""
    parser = argparse.ArgumentParser(prog="python -m bench scoring")
    parser.add_argument("--stored", type=int, default=10000)
    parser.add_argument("--page", type=int, default=1000)
    parser.add_argument("--candidates", type=int, default=5)
    args = parser.parse_args(argv)
    data, _ = dataset(args.stored)
    base = Matcher(load_match_config())
    matcher = base.with_model(base.train(read(data)))
    stored = [matcher.prepare(r) for r in read(data)]
    page = random.Random(7).sample(stored, args.page)
    pairs = _candidates(page, stored, matcher, args.candidates)
    by_record: dict[int, list[PreparedRecord]] = defaultdict(list)
    for record, other in pairs:
        by_record[record.id].append(other)
    n, m = len(page), max(len(pairs), 1)
    print(f"page of {n} records, {len(pairs)} candidate pairs, {args.stored} stored records")
    single = _timed("compare() per pair", n, m, lambda: [matcher.compare(a, b) for a, b in pairs])
    _timed(
        "score_candidates() per record (>= review)",
        n,
        m,
        lambda: [matcher.score_candidates(r, by_record[r.id]) for r in page],
    )
    bulk = _timed("score_pairs() per page (every edge)", n, m, lambda: matcher.score_pairs(pairs))
    review = matcher.config.review_threshold
    kept = _timed(
        "score_pairs(minimum=review) per page",
        n,
        m,
        lambda: matcher.score_pairs(pairs, minimum=review),
    )
    assert isinstance(bulk, list) and isinstance(single, list) and isinstance(kept, list)
    print(f"  score_pairs equals compare: {'yes' if bulk == single else 'NO'}")
    edges: list[ScoredEdge] = kept
    members = {r.id: r for pair in pairs for r in pair}
    _timed(
        "cluster() of the page's records and candidates",
        n,
        m,
        lambda: matcher.cluster(list(members.values()), edges),
    )
    return 0
