"""The HubSpot, Zendesk and Mailchimp connectors reading their sandboxes over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from connectors import connector_class
from connectors.base import ConnectorError, Page, RecordIn, State, Stream
from connectors.http import HttpConnector
from connectors.sandbox import (
    Faults,
    Sandboxes,
    SandboxServer,
    connector_settings,
    start_sandboxes,
)
from tests.connectors.sandbox_data import department_data

TOKEN_ENV = "HUELLA_SECRET_TEST_SANDBOX"
KINDS = ("hubspot", "zendesk", "mailchimp")
FAST = {"timeout": 0.4, "connect_timeout": 0.4, "tries": 6, "backoff": 0.01, "backoff_max": 0.05}


OPEN: list[HttpConnector] = []


@pytest.fixture
def sandboxes(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandboxes]:
    """Three sandboxes of 40 customers each, with the token in the environment."""
    monkeypatch.setenv(TOKEN_ENV, "sandbox-token")
    running = start_sandboxes(data=department_data(40), seed=3)
    yield running
    while OPEN:
        OPEN.pop().close()
    running.stop()


@dataclass
class Source:
    """One sandbox and the real connector that reads it."""

    sandbox: SandboxServer
    connector: HttpConnector

    @property
    def records_stream(self) -> Stream:
        return self.connector.streams()[0]

    @property
    def events_stream(self) -> Stream:
        return self.connector.streams()[1]


def source(sandboxes: Sandboxes, kind: str, **settings: Any) -> Source:
    """The sandbox of ``kind`` and its connector with fast, unthrottled settings."""
    sandbox = getattr(sandboxes, kind)
    values = connector_settings(sandbox, TOKEN_ENV, rate_limit=0, page_size=7) | FAST | settings
    connector = connector_class(kind)(values)
    assert isinstance(connector, HttpConnector)
    OPEN.append(connector)
    return Source(sandbox, connector)


def read(stream: Stream, state: State | None = None) -> list[Page]:
    return list(stream.read(state))


def latest(pages: list[Page]) -> dict[str, RecordIn]:
    """Each record's last version in the order the stream yielded them (what an upsert keeps)."""
    return {record.external_id: record for page in pages for record in page.records}


def assert_matches_sandbox(records: dict[str, RecordIn], sandbox: SandboxServer) -> None:
    """Every record the sandbox holds was read, with its current values; deleted ones as
    deletions; nothing else."""
    truth = {record.external_id: record for record in sandbox.records()}
    live = {key: record for key, record in records.items() if not record.deleted}
    deleted = {key for key, record in records.items() if record.deleted}
    assert set(live) == {key for key, record in truth.items() if not record.deleted}
    assert deleted <= {key for key, record in truth.items() if record.deleted}
    for key, record in live.items():
        assert dict(record.attributes) == sandbox.expected_attributes(truth[key]), key
        assert record.updated_at is not None


@pytest.mark.parametrize("kind", KINDS)
def test_a_full_read_equals_the_sandbox(sandboxes: Sandboxes, kind: str) -> None:
    read_source = source(sandboxes, kind)
    pages = read(read_source.records_stream)
    records = latest(pages)
    assert len(records) == 40
    assert sum(len(page.records) for page in pages) == 40
    assert_matches_sandbox(records, read_source.sandbox)
    assert all(not page.rejects for page in pages)


@pytest.mark.parametrize("kind", KINDS)
def test_resuming_from_any_page_continues_exactly_after_it(sandboxes: Sandboxes, kind: str) -> None:
    stream = source(sandboxes, kind).records_stream
    pages = read(stream)
    assert len(pages) > 3
    ids = [[r.external_id for r in page.records] for page in pages]
    for index, page in enumerate(pages):
        resumed = read(stream, page.state)
        rest = [external_id for later in ids[index + 1 :] for external_id in later]
        assert [r.external_id for p in resumed for r in p.records] == rest


@pytest.mark.parametrize("kind", KINDS)
def test_an_incremental_read_brings_only_changes_and_deletions(
    sandboxes: Sandboxes, kind: str
) -> None:
    read_source = source(sandboxes, kind)
    stream = read_source.records_stream
    state = read(stream)[-1].state
    ids = [record.external_id for record in read_source.sandbox.records()]
    read_source.sandbox.mutate({ids[3]: {"city": "Lugo"}}, deletions=[ids[5]])
    changed = latest(read(stream, state))
    assert set(changed) == {ids[3], ids[5]}
    assert changed[ids[3]].attributes["city"] == "Lugo"
    assert changed[ids[5]].deleted
    assert not changed[ids[3]].deleted


@pytest.mark.parametrize("kind", KINDS)
def test_rate_limits_and_server_errors_are_survived(sandboxes: Sandboxes, kind: str) -> None:
    read_source = source(sandboxes, kind)
    read_source.sandbox.set_faults(rate_limit_every=3, retry_after=0.05, error_every=5)
    records = latest(read(read_source.records_stream))
    assert_matches_sandbox(records, read_source.sandbox)
    assert read_source.connector.client.requests_sent > read_source.sandbox.pages_served


@pytest.mark.parametrize("kind", KINDS)
def test_a_hanging_response_times_out_and_is_retried(sandboxes: Sandboxes, kind: str) -> None:
    read_source = source(sandboxes, kind, timeout=0.2)
    read_source.sandbox.set_faults(hang_every=4, hang_seconds=3)
    records = latest(read(read_source.records_stream))
    assert_matches_sandbox(records, read_source.sandbox)


@pytest.mark.parametrize("kind", KINDS)
def test_repeated_and_changing_records_end_with_the_latest_values(
    sandboxes: Sandboxes, kind: str
) -> None:
    read_source = source(sandboxes, kind)
    read_source.sandbox.set_faults(repeat_across_pages=True, change_every_pages=2)
    pages = read(read_source.records_stream)
    assert read_source.sandbox.pages_served >= 4
    # Mid-sync changes happened: some record was read twice, its last version is current.
    assert sum(len(page.records) for page in pages) > 40
    assert_matches_sandbox(latest(pages), read_source.sandbox)


@pytest.mark.parametrize("kind", KINDS)
def test_deletions_during_a_sync_surface_in_it(sandboxes: Sandboxes, kind: str) -> None:
    read_source = source(sandboxes, kind)
    read_source.sandbox.set_faults(delete_every_pages=3)
    records = latest(read(read_source.records_stream))
    deleted = {r.external_id for r in read_source.sandbox.records() if r.deleted}
    assert deleted
    assert {key for key, record in records.items() if record.deleted} == deleted


@pytest.mark.parametrize("kind", KINDS)
def test_malformed_records_are_rejected_with_a_reason(sandboxes: Sandboxes, kind: str) -> None:
    read_source = source(sandboxes, kind)
    read_source.sandbox.set_faults(malformed_every=10)
    pages = read(read_source.records_stream)
    rejects = [reject for page in pages for reject in page.rejects]
    assert len(rejects) == 4
    assert all("without" in reject.reason for reject in rejects)
    assert len(latest(pages)) == 36


@pytest.mark.parametrize("kind", KINDS)
def test_wrong_credentials_fail_clearly(
    sandboxes: Sandboxes, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, "not-the-token")
    with pytest.raises(ConnectorError, match="HTTP 401"):
        source(sandboxes, kind).connector.check()


@pytest.mark.parametrize("kind", KINDS)
def test_check_passes_with_good_credentials(sandboxes: Sandboxes, kind: str) -> None:
    source(sandboxes, kind).connector.check()


@pytest.mark.parametrize("kind", KINDS)
def test_events_are_linked_to_their_customers(sandboxes: Sandboxes, kind: str) -> None:
    read_source = source(sandboxes, kind)
    pages = read(read_source.events_stream)
    events = {event.external_id: event for page in pages for event in page.events}
    truth = read_source.sandbox.events
    assert len(events) == len(truth) == 80
    expected = sorted((e.customer_external_id, e.occurred_at) for e in truth)
    assert sorted((e.customer_external_id or "", e.occurred_at) for e in events.values()) == (
        expected
    )


def test_mailchimp_status_becomes_email_marketing_consent(sandboxes: Sandboxes) -> None:
    records = latest(read(source(sandboxes, "mailchimp").records_stream))
    statuses = {r.external_id: r.status for r in sandboxes.mailchimp.records()}
    for key, record in records.items():
        expected = {"subscribed": {"email_marketing": True}, "pending": {}}.get(
            statuses[key], {"email_marketing": False}
        )
        assert dict(record.consents) == expected


def test_a_hubspot_email_opt_out_becomes_a_withdrawn_email_marketing_consent(
    sandboxes: Sandboxes,
) -> None:
    records = latest(read(source(sandboxes, "hubspot").records_stream))
    statuses = {r.external_id: r.status for r in sandboxes.hubspot.records()}
    assert "unsubscribed" in statuses.values()
    for key, record in records.items():
        opted_out = statuses[key] == "unsubscribed"
        assert dict(record.consents) == ({"email_marketing": False} if opted_out else {}), key


def test_mailchimp_activity_is_read_incrementally(sandboxes: Sandboxes) -> None:
    stream = source(sandboxes, "mailchimp").events_stream
    pages = read(stream)
    kinds = {event.type for page in pages for event in page.events}
    assert kinds == {"email_open", "email_click"}
    assert [event for page in read(stream, pages[-1].state) for event in page.events] == []


def test_a_missing_secret_names_the_variable(
    sandboxes: Sandboxes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(TOKEN_ENV)
    with pytest.raises(ConnectorError, match=TOKEN_ENV):
        source(sandboxes, "hubspot").connector.check()


@pytest.fixture
def generated(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandboxes]:
    """The sandboxes serving 300 generated people, as the demo and benchmark do."""
    monkeypatch.setenv(TOKEN_ENV, "sandbox-token")
    running = start_sandboxes(people=300, seed=11)
    yield running
    while OPEN:
        OPEN.pop().close()
    running.stop()


@pytest.mark.parametrize("kind", KINDS)
def test_generated_people_are_read_in_full(generated: Sandboxes, kind: str) -> None:
    read_source = source(generated, kind, page_size=50)
    records = latest(read(read_source.records_stream))
    assert len(records) == len(read_source.sandbox.records()) > 50
    assert_matches_sandbox(records, read_source.sandbox)
    events = [event for page in read(read_source.events_stream) for event in page.events]
    assert len(events) == len(read_source.sandbox.events) > 0
    assert {event.customer_external_id for event in events} <= set(records)


def test_the_same_person_appears_in_several_departments(generated: Sandboxes) -> None:
    emails = [
        {r.attributes.get("email", "").lower() for r in sandbox.records()} - {""}
        for sandbox in generated
    ]
    assert emails[0] & emails[1] or emails[0] & emails[2] or emails[1] & emails[2]


@pytest.mark.parametrize("kind", KINDS)
def test_ties_longer_than_a_page_are_stepped_over_without_loss(
    sandboxes: Sandboxes, kind: str
) -> None:
    # Three customers share each modification second; pages of two split every tie.
    read_source = source(sandboxes, kind, page_size=2)
    pages = read(read_source.records_stream)
    assert sum(len(page.records) for page in pages) == 40
    assert_matches_sandbox(latest(pages), read_source.sandbox)


def test_faults_and_mutations_are_settable_over_http(sandboxes: Sandboxes) -> None:
    url = sandboxes.zendesk.url
    with httpx.Client(base_url=url) as admin:
        faults = admin.post("/_sandbox/faults", json={"error_every": 1}).json()
        assert faults["error_every"] == 1
        assert admin.get("/api/v2/incremental/users/cursor.json").status_code == 500
        admin.post("/_sandbox/faults", json={"error_every": 0})
        touched = admin.post("/_sandbox/mutate", json={"deletions": ["5001"]}).json()
        assert touched == {"touched": ["5001"]}
        truth = {r["external_id"]: r for r in admin.get("/_sandbox/records").json()}
    assert truth["5001"]["deleted"] is True
    with pytest.raises(ValueError, match="unknown fault"):
        Faults().updated({"explode": 1})
