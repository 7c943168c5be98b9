"""Department systems Huella pulls from. Plain records out; no database, no Flask, no app."""

# Importing a connector module registers its kind.
from connectors import files, hubspot, mailchimp, push, sql, zendesk  # noqa: F401
from connectors.base import (
    CANONICAL_ATTRIBUTES,
    ConfigurationError,
    Connector,
    ConnectorError,
    EventIn,
    Page,
    RecordIn,
    Reject,
    Setting,
    State,
    Stream,
    connector_class,
    connector_kinds,
    register,
    settings_problems,
)

__all__ = [
    "CANONICAL_ATTRIBUTES",
    "ConfigurationError",
    "Connector",
    "ConnectorError",
    "EventIn",
    "Page",
    "RecordIn",
    "Reject",
    "Setting",
    "State",
    "Stream",
    "connector_class",
    "connector_kinds",
    "register",
    "settings_problems",
]
