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


class FootprintRecordSchema(Schema):
    """One department's record of the customer, as the footprint shows it."""

    external_id = fields.String()
    since = fields.String(metadata={"description": "when Huella first saw the record (ISO 8601)"})
    updated_at = fields.String(metadata={"description": "ISO 8601"})
    source_updated_at = fields.String(allow_none=True, metadata={"description": "ISO 8601"})
    attributes = fields.List(fields.String(), metadata={"description": "the attributes it holds"})
    consents = fields.Dict(metadata={"description": "purpose -> {granted, observed_at}"})


class FootprintDepartmentSchema(Schema):
    """What one department holds of the customer."""

    source = fields.String()
    records = fields.List(fields.Nested(FootprintRecordSchema))


class FootprintSchema(Schema):
    """Who holds what of a customer: per department, its records with the attributes each
    holds, since when and under which consents; per attribute, the departments holding it."""

    id = fields.String()
    departments = fields.List(fields.Nested(FootprintDepartmentSchema))
    attributes = fields.Dict(
        metadata={"description": "attribute -> [{source, external_id, since}]"}
    )
    consents = fields.Dict(metadata={"description": "the consents in force, as the profile's"})


class SubjectExportSchema(Schema):
    """Everything Huella holds about one customer, for their subject access request."""

    format = fields.String(metadata={"description": "huella.subject-export"})
    version = fields.Integer(metadata={"description": "1; a new version adds or changes fields"})
    exported_at = fields.String(metadata={"description": "ISO 8601, as every time in it"})
    customer = fields.Dict(
        metadata={"description": "id, and merged: the ids merged into it (all redirect to it)"}
    )
    records = fields.List(
        fields.Dict(),
        metadata={
            "description": "every department's record of them, deleted ones too: source, "
            "external_id, deleted_at, first_seen_at, updated_at, source_updated_at, attributes "
            "(as mapped), raw (as the department sent it), problems (values kept as written "
            "that cannot be compared), consents ([{purpose, granted, observed_at}])"
        },
    )
    golden = fields.Dict(
        metadata={
            "description": "the golden record: golden (each value with source, external_id, "
            "observed_at, the rule that chose it, records holding it, rank), values (every "
            "record's value of every attribute), records"
        }
    )
    consents = fields.Dict(metadata={"description": "per purpose, in force, as the profile's"})
    events = fields.List(
        fields.Dict(),
        metadata={"description": "every event: type, occurred_at, source, external_id, properties"},
    )
    anonymous_visitors = fields.List(
        fields.Dict(),
        metadata={"description": "visitor ids stitched to them: source, anonymous_id, linked_at"},
    )
    traits = fields.Dict(
        metadata={
            "description": "values (the traits as last computed) and computed (the rules: "
            "which event types count as orders, tickets, e-mails; how affinities are scored "
            "and the consent they need)"
        }
    )
    history = fields.List(
        fields.Dict(),
        metadata={
            "description": "changes to their identity, oldest first: at, actor, action (create, "
            "merge, split, attach, detach, decisions, undo, consent), reason, identities, "
            "before, after"
        },
    )
    reads = fields.List(
        fields.Dict(),
        metadata={
            "description": "who read their data (audited roles), oldest first: at, actor, "
            "action (read, reveal), route, reason"
        },
    )
