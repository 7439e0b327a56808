"""The policy: schema, loading with precise errors, and reloading."""

from .globs import compile_globs
from .loader import PolicyError, PolicyIssue, interpolate, load_policy, parse_policy
from .reload import PolicyFile
from .schema import Policy, path_matches

__all__ = [
    "Policy",
    "PolicyError",
    "PolicyFile",
    "PolicyIssue",
    "compile_globs",
    "interpolate",
    "load_policy",
    "parse_policy",
    "path_matches",
]
