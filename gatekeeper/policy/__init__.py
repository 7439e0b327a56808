"""The policy: schema, loading with precise errors, and reloading."""

from .document import BUDGETS, Budgets
from .fields import path_matches
from .globs import compile_globs
from .issues import PolicyError, PolicyIssue
from .loader import LoadedPolicy, interpolate, load_policy, parse_policy, read_policy
from .reload import PolicyFile
from .schema import Policy

__all__ = [
    "BUDGETS",
    "Budgets",
    "LoadedPolicy",
    "Policy",
    "PolicyError",
    "PolicyFile",
    "PolicyIssue",
    "compile_globs",
    "interpolate",
    "load_policy",
    "parse_policy",
    "path_matches",
    "read_policy",
]
