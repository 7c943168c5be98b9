"""The pure matching core: records in, scored edges and clusters out.

Imports only the standard library, rapidfuzz, networkx, numpy and phonenumbers; no Flask, no
SQLAlchemy, nothing from the rest of ``app``.
"""

from app.matching.config import MatchConfig, load_match_config
from app.matching.identities import IdentityAssignment, assign_identities
from app.matching.incremental import IncrementalResolver
from app.matching.matcher import Matcher, train
from app.matching.model import MatchModel
from app.matching.types import (
    Clustering,
    Conflict,
    Constraints,
    Contribution,
    InputRecord,
    PreparedRecord,
    Resolution,
    ScoredEdge,
)

__all__ = [
    "Clustering",
    "Conflict",
    "Constraints",
    "Contribution",
    "IdentityAssignment",
    "IncrementalResolver",
    "InputRecord",
    "MatchConfig",
    "MatchModel",
    "Matcher",
    "PreparedRecord",
    "Resolution",
    "ScoredEdge",
    "assign_identities",
    "load_match_config",
    "train",
]
