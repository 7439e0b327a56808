"""gatekeeper: consent, adblock detection, country blocks and notices for any ASGI app."""

from .middleware import Gatekeeper
from .policy import Policy, PolicyError, load_policy
from .visitor import Visitor, visitor

__all__ = ["Gatekeeper", "Policy", "PolicyError", "Visitor", "load_policy", "visitor"]
__version__ = "0.1.0"
