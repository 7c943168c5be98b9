"""Finding 9: an e-mail written in look-alike characters (full-width letters that fold onto
ASCII ones) never stands for the address it imitates. It is kept as written, flagged in its
record's problems, and a lookup of the real address does not find whoever wrote it."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.source.models import Source, SourceRecord
from tests.helpers import add_source, push, record

Headers = Callable[..., dict[str, str]]
REAL = "wilsona@gmail.com"
# The same address in full-width letters: folded (NFKC), it reads as REAL.
LOOKALIKE = "".join(chr(ord(c) + 0xFEE0) for c in "wilsona") + "@gmail.com"


def test_an_impostors_lookalike_email_is_kept_flagged_and_never_found_as_the_real_one(
    app: Flask, client: FlaskClient, make_token: Headers, session: Session
) -> None:
    add_source(app, "crm")
    add_source(app, "shop")
    admin = make_token("admin")
    push(client, admin, "crm", record("c-1", full_name="Ana Wilson", email=REAL))
    shop = make_token("connector", source="shop")
    pushed = push(client, shop, "shop", record("s-9", full_name="Mallory Pratt", email=LOOKALIKE))
    assert pushed["created"] == 1 and pushed["rejected"] == 0  # kept, not refused

    agent = make_token("agent")
    found = client.get(f"/api/v1/customers/lookup/email:{REAL}", headers=agent)
    assert found.status_code == 200
    [customer] = found.get_json()["data"]
    assert list(customer["records"]) == ["crm"]  # the real customer only, not the impostor
    assert [r["external_id"] for r in customer["records"]["crm"]] == ["c-1"]

    impostor = session.scalars(select(SourceRecord).join(Source).where(Source.name == "shop")).one()
    assert impostor.attributes["email"] == LOOKALIKE  # stored as written
    assert impostor.problems == {"email": "look-alike characters"}
    assert (
        impostor.identity_id
        != session.scalars(
            select(SourceRecord.identity_id).where(SourceRecord.external_id == "c-1")
        ).one()
    )
    # Looking the look-alike up finds no one either: it is not an address Huella compares.
    same = client.get(f"/api/v1/customers/lookup/email:{LOOKALIKE}", headers=agent)
    assert same.status_code == 422 and same.mimetype == "application/problem+json"
    assert same.get_json()["errors"] == {"email": ["not a valid email"]}
