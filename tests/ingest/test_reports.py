"""An ingest's report, folded page by page: the counts add up, the newest record is the highest."""

from __future__ import annotations

from collections import Counter

from app.ingest.flows import IngestReport


def test_a_run_of_pages_adds_its_counts_and_keeps_the_highest_new_record_id() -> None:
    run = IngestReport()
    run.add(
        IngestReport(pages=1, created=2, events=5, newest=40, problems=Counter({("dob", "bad"): 1}))
    )
    run.add(IngestReport(pages=1, created=3, updated=1, newest=35))
    run.add(IngestReport(pages=1, unchanged=4))
    assert (run.pages, run.created, run.updated, run.unchanged, run.events) == (3, 5, 1, 4, 5)
    assert run.records == 10
    assert run.newest == 40  # an id, not a count: 75 if it were added up
    assert run.problems == Counter({("dob", "bad"): 1})
