"""Sandbox department systems: HubSpot, Zendesk and Mailchimp imitations on 127.0.0.1 that
the real connectors read unchanged, serving consistent generated people.

    sandboxes = start_sandboxes(people=1000, seed=7)
    sandboxes.hubspot.url                      # http://127.0.0.1:PORT
    sandboxes.hubspot.set_faults(error_every=5)
    sandboxes.zendesk.mutate({"42": {"email": "new@example.com"}}, deletions=["43"])
    sandboxes.stop()

``python -m connectors.sandbox --people N --seed S [--port-base P]`` runs them until stopped.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from connectors.sandbox.common import Faults, SandboxEvent, SandboxRecord, SandboxServer
from connectors.sandbox.hubspot import HubSpotSandbox
from connectors.sandbox.mailchimp import MailchimpSandbox
from connectors.sandbox.people import department_events, department_records, generate_people
from connectors.sandbox.zendesk import ZendeskSandbox

SANDBOX_TOKEN = "sandbox-token"
DEPARTMENTS: dict[str, type[SandboxServer]] = {
    "sales": HubSpotSandbox,
    "support": ZendeskSandbox,
    "marketing": MailchimpSandbox,
}
_Server = TypeVar("_Server", bound=SandboxServer)
DepartmentData = tuple[list[SandboxRecord], list[SandboxEvent]]

__all__ = [
    "DEPARTMENTS",
    "SANDBOX_TOKEN",
    "Faults",
    "HubSpotSandbox",
    "MailchimpSandbox",
    "SandboxEvent",
    "SandboxRecord",
    "SandboxServer",
    "Sandboxes",
    "ZendeskSandbox",
    "connector_settings",
    "start_sandboxes",
]


@dataclass
class Sandboxes:
    """The three running sandboxes."""

    hubspot: HubSpotSandbox
    zendesk: ZendeskSandbox
    mailchimp: MailchimpSandbox

    def __iter__(self) -> Iterator[SandboxServer]:
        return iter((self.hubspot, self.zendesk, self.mailchimp))

    def stop(self) -> None:
        """Stop all three."""
        for sandbox in self:
            sandbox.stop()

    def set_faults(self, faults: Faults | None = None, **changes: Any) -> None:
        """Set the same faults on all three."""
        for sandbox in self:
            sandbox.set_faults(faults, **changes)


def start_sandboxes(
    people: int = 1000,
    seed: int = 0,
    *,
    port_base: int | None = None,
    faults: Faults | None = None,
    token: str = SANDBOX_TOKEN,
    data: Mapping[str, DepartmentData] | None = None,
) -> Sandboxes:
    """Start the three sandboxes on 127.0.0.1 (ports ``port_base``, +1, +2, else ephemeral),
    serving ``data`` by department or, without it, ``people`` generated people."""
    chosen = data if data is not None else generated_data(people, seed)
    started: dict[str, SandboxServer] = {}
    try:
        for offset, (department, cls) in enumerate(DEPARTMENTS.items()):
            records, events = chosen.get(department, ([], []))
            port = port_base + offset if port_base else 0
            server = cls(records, events, port=port, token=token, faults=faults, seed=seed)
            started[department] = server.start()
    except BaseException:
        for server in started.values():
            server.stop()
        raise
    return Sandboxes(
        hubspot=_as(started["sales"], HubSpotSandbox),
        zendesk=_as(started["support"], ZendeskSandbox),
        mailchimp=_as(started["marketing"], MailchimpSandbox),
    )


def _as(server: SandboxServer, cls: type[_Server]) -> _Server:
    assert isinstance(server, cls)
    return server


def connector_settings(sandbox: SandboxServer, token_env: str, **extra: Any) -> dict[str, Any]:
    """Settings with which the real connector of a sandbox's kind reads it."""
    settings: dict[str, Any] = {"base_url": sandbox.url, "token_env": token_env}
    if isinstance(sandbox, ZendeskSandbox):
        settings["email"] = sandbox.agent_email
    if isinstance(sandbox, MailchimpSandbox):
        settings["list_id"] = sandbox.list_id
    return settings | extra


def generated_data(people: int, seed: int) -> dict[str, DepartmentData]:
    """The generated people's department records and events, in the sandboxes' terms.

    Mailchimp holds one member per e-mail address: marketing records without an address, or
    repeating one already held, are left out with their events. A member's subscription
    status is drawn from its id. E-mails sent are not activity (only opens and clicks are).
    """
    data: dict[str, DepartmentData] = {name: ([], []) for name in DEPARTMENTS}
    held_emails: set[str] = set()
    population = generate_people(people, seed)
    for item in department_records(population, seed):
        attributes = dict(item.attributes)
        if item.department == "marketing":
            email = attributes.get("email", "").strip().lower()
            if not email or email in held_emails:
                continue
            held_emails.add(email)
        records, events = data[item.department]
        records.append(
            SandboxRecord(
                external_id=item.external_id,
                attributes=attributes,
                updated_at=item.updated_at,
                created_at=item.updated_at,
                status=_status(item.external_id),
            )
        )
        events.extend(
            SandboxEvent(
                external_id=event.external_id,
                customer_external_id=event.record_external_id,
                type=event.type,
                occurred_at=event.occurred_at,
                properties=event.properties,
            )
            for event in department_events(item, seed)
            if event.type != "email_sent"
        )
    return data


def _status(external_id: str) -> str:
    """Most members subscribed, some unsubscribed, cleaned (bounced) or pending."""
    draw = zlib.crc32(external_id.encode()) % 100
    if draw < 80:
        return "subscribed"
    return "unsubscribed" if draw < 92 else "cleaned" if draw < 97 else "pending"
