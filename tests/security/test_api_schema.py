"""The API against its own OpenAPI document: schemathesis generates valid and invalid requests
for every operation (a bounded number each, from a fixed seed), and every answer must be
documented for its operation, never a 5xx, and, for an error, a problem document."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from app.auth import service as tokens
from app.db import get_db
from tests.helpers import add_source, push, record

Headers = Callable[..., dict[str, str]]
EXAMPLES_PER_OPERATION = 20
SEED = 20261207


@dataclass
class Findings:
    """What the generated requests found, operation by operation."""

    operations: int = 0
    examples: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    defects: list[str] = field(default_factory=list)

    def figures(self) -> str:
        server_errors = sum(n for status, n in self.statuses.items() if status >= 500)
        return (
            f"{self.operations} operations, {sum(self.examples.values())} examples, "
            f"{server_errors} answers 5xx, {len(self.defects)} defects; "
            f"statuses {sorted(self.statuses.items())}"
        )


class Caller:
    """An admin token, replaced when a generated request revoked it."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.headers = self._new()

    def _new(self) -> dict[str, str]:
        with self.app.app_context(), get_db(self.app).unit_of_work() as session:
            _, secret = tokens.create(session=session, name="schemathesis", role="admin")
        return {"Authorization": f"Bearer {secret}"}

    def call(self, case: schemathesis.Case) -> Any:
        response = case.call(headers=self.headers)
        if response.status_code == 401 and "revoked" in response.text:
            self.headers = self._new()
            response = case.call(headers=self.headers)
        return response


def check(findings: Findings, case: schemathesis.Case, response: Any) -> None:
    documented = set(case.operation.definition.raw.get("responses", {}))
    status = response.status_code
    findings.statuses[status] += 1
    where = f"{case.method} {case.formatted_path} -> {status}"
    if status >= 500:
        findings.defects.append(f"server error: {where}: {response.text[:200]}")
    if str(status) not in documented:
        findings.defects.append(f"undocumented status: {where} (documented: {sorted(documented)})")
    headers = {name.lower(): values for name, values in response.headers.items()}
    content_type = (headers.get("content-type") or [""])[0]
    if status >= 400 and not content_type.startswith("application/problem+json"):
        findings.defects.append(f"not a problem document: {where} ({content_type})")


def explore(operation: Any, caller: Caller, findings: Findings) -> None:
    """Send the operation's generated requests, valid and invalid, and check each answer."""
    requests = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @seed(SEED)
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=requests)
    def exercise(case: schemathesis.Case) -> None:
        findings.examples[operation.label] += 1
        check(findings, case, caller.call(case))

    exercise()


def test_every_operation_answers_as_documented(
    app: Flask, client: FlaskClient, make_token: Headers
) -> None:
    add_source(app, "crm")
    admin = make_token("admin")
    push(client, admin, "crm", record("1", email="ana@example.com", first_name="Ana"))
    push(client, admin, "crm", record("2", email="bo@example.com", first_name="Bo"))
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    caller, findings = Caller(app), Findings()
    for result in schema.get_all_operations():
        findings.operations += 1
        explore(result.ok(), caller, findings)
    print(f"\nschemathesis: {findings.figures()}")
    assert findings.operations >= 30 and min(findings.examples.values()) > 0
    assert findings.defects == [], "\n".join(findings.defects[:30])
