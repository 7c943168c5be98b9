"""Small, exact sandbox data for connector tests: every attribute, ties in modification time,
events linked to customers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from connectors.sandbox import DepartmentData, SandboxEvent, SandboxRecord

START = datetime(2024, 1, 1, tzinfo=UTC)
FIRST = ["Ana", "Bo", "Chen", "Dora", "Emeka", "Fátima", "Goran", "Hana"]
LAST = ["Pérez", "Li", "Okafor", "Novak", "Silva", "Kim", "Ivanov", "Haddad"]


def attributes(number: int) -> dict[str, str]:
    """A customer with every canonical attribute; some leave a few out."""
    first, last = FIRST[number % len(FIRST)], LAST[number % len(LAST)]
    values = {
        "first_name": first,
        "last_name": last,
        "email": f"{first.lower()}.{number}@example.com",
        "phone": f"+34 600 {number:06d}",
        "birth_date": f"19{60 + number % 40:02d}-0{number % 9 + 1}-1{number % 9}",
        "address_line1": f"Calle Mayor {number}",
        "address_line2": f"Piso {number % 5}",
        "city": "Sevilla",
        "postcode": f"41{number:03d}",
        "region": "Andalucía",
        "country": "ES",
        "company": f"Acme {number % 4}",
    }
    if number % 5 == 0:
        values["full_name"] = f"{first} {last} Jr."
    if number % 7 == 0:
        del values["phone"], values["address_line2"]
    return values


def department_data(count: int = 40, events_per_customer: int = 2) -> dict[str, DepartmentData]:
    """``count`` customers in each department; every third change shares a second."""
    data: dict[str, DepartmentData] = {}
    for department, ids in (
        ("sales", lambda n: str(1000 + n)),
        ("support", lambda n: str(5000 + n)),
        ("marketing", lambda n: f"mc{n:05d}"),
    ):
        records = [
            SandboxRecord(
                external_id=ids(number),
                attributes=attributes(number),
                updated_at=START + timedelta(seconds=number // 3),
                created_at=START,
                status=("subscribed", "unsubscribed", "cleaned", "pending")[number % 4],
            )
            for number in range(count)
        ]
        events = [
            SandboxEvent(
                external_id=str(90000 + number * events_per_customer + index),
                customer_external_id=ids(number),
                type=_event_type(department, index),
                occurred_at=START + timedelta(hours=number, minutes=index),
                properties=_event_properties(department, number, index),
            )
            for number in range(count)
            for index in range(events_per_customer)
        ]
        data[department] = (records, events)
    return data


def _event_type(department: str, index: int) -> str:
    if department == "marketing":
        return "email_click" if index % 2 else "email_open"
    return {"sales": "order", "support": "ticket"}[department]


def _event_properties(department: str, number: int, index: int) -> dict[str, object]:
    if department == "marketing":
        url = {"url": f"https://example.com/offer/{number}"} if index % 2 else {}
        return {"campaign_id": f"camp{number % 3}"} | url
    if department == "sales":
        return {"name": f"Order {number}-{index}", "amount": 10 * (index + 1)}
    return {"subject": f"Question {number}-{index}", "channel": "web"}
