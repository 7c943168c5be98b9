"""How privacy looks over the API: erasure asked for, and what it removed."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.fields import Instant


class ErasureRequestSchema(Schema):
    """Why the person is erased (kept in the audit trail: no personal data), and whether only
    to list what would go."""

    reason = fields.String(
        required=True,
        validate=validate.Length(min=1, max=2000),
        metadata={"description": "why: a request number, not the person's name or e-mail"},
    )
    dry_run = fields.Boolean(
        load_default=False, metadata={"description": "count what would go; change nothing"}
    )


class ErasureSchema(Schema):
    """What an erasure removed (or, in a dry run, would remove)."""

    status = fields.String(metadata={"description": "erased, would_erase or already_erased"})
    identity = fields.String(allow_none=True, metadata={"description": "the customer's id"})
    merged = fields.List(
        fields.String(), metadata={"description": "ids merged into it, erased with it"}
    )
    records = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={"description": "records per source"},
    )
    tables = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={
            "description": "rows per table; for audit_entry, the earlier entries whose values "
            "of the person were replaced by 'erased'"
        },
    )
    suppressed = fields.Integer(
        metadata={
            "description": "digests of their record ids, e-mails and phones added to the "
            "suppression list"
        }
    )
    also_held_by = fields.List(
        fields.String(),
        metadata={
            "description": "other customers holding one of the person's e-mails or phones: "
            "their records carrying it are suppressed from now on too"
        },
    )
    dry_run = fields.Boolean()
    erased_at = fields.AwareDateTime(allow_none=True)
    audit_entry = fields.Integer(
        attribute="entry_id", allow_none=True, metadata={"description": "the erasure's entry"}
    )


class RevealSchema(Schema):
    """Why someone whose role sees masked values needs this customer's values."""

    reason = fields.String(
        required=True,
        validate=validate.Length(min=1, max=2000),
        metadata={"description": "why (recorded in the audit trail): a ticket, a call"},
    )
    verbose = fields.Boolean(
        load_default=False,
        metadata={"description": "every value with its provenance, every record's attributes"},
    )


class ConsentChoiceSchema(Schema):
    """A customer's choice of a purpose, as a department records it."""

    purpose = fields.String(
        required=True,
        validate=validate.Length(min=1, max=50),
        metadata={"description": "a purpose of config/privacy.toml, e.g. email_marketing"},
    )
    granted = fields.Boolean(required=True, metadata={"description": "false: withdrawn"})
    source = fields.String(
        required=True,
        validate=validate.Length(min=1, max=100),
        metadata={"description": "the department that records it (one holding the customer)"},
    )
    observed_at = Instant(
        load_default=None, metadata={"description": "when the customer said so; default now"}
    )


class ConsentsSchema(Schema):
    """A customer's consents: per purpose, the choice in force and each department's."""

    id = fields.String()
    consents = fields.Dict(
        metadata={
            "description": "per purpose: granted (in force: the most restrictive choice any "
            "department recorded, else the purpose's default), recorded, disagreement, "
            "observed_at, description, sources (each department's choice)"
        }
    )
