"""The pure matching core: records in, scored edges and clusters out.

Imports only the standard library, rapidfuzz, networkx, numpy and phonenumbers; no Flask, no
SQLAlchemy, nothing from the rest of ``app``.
"""

from app.matching.config import MatchConfig, load_match_config
from app.matching.identities import IdentityAssignment, assign_identities
from app.matching.matcher import Matcher

__all__ = [
    "IdentityAssignment",
    "MatchConfig",
    "Matcher",
    "assign_identities",
    "load_match_config",
]
