"""IAB Europe's Transparency and Consent Framework v2.3 and the IAB Global Privacy
Platform: the vendor list, TC and GPP strings, the TCF notice's data and `visitor.tcf`.

Pure modules (no I/O): `bits`, `string`, `gpp`, `consent`, `disclosure`, `choices`,
`notice`, `page`, `edition` (all of it applied to one vendor list for the request path).
At the edges: `gvl` (reads the vendor list files, `GvlFile` reloads them), `update`
(downloads them) and `cli` (`gatekeeper tcf ...`). The request path uses them through
gatekeeper.consent.tcf_flow and gatekeeper.notices.tcf.
"""

from .choices import ChoiceError, Choices, choices_from_form, choices_from_string, tc_string
from .consent import TcfConsent
from .disclosure import Disclosure, build_disclosure
from .edition import Edition, binding
from .gvl import GVL, GVLError, GvlFile, load_gvl
from .page import PageState, state_element
from .string import TCString, TCStringError, decode, encode, reask_reason

__all__ = [
    "GVL",
    "ChoiceError",
    "Choices",
    "Disclosure",
    "Edition",
    "GVLError",
    "GvlFile",
    "PageState",
    "TCString",
    "TCStringError",
    "TcfConsent",
    "binding",
    "build_disclosure",
    "choices_from_form",
    "choices_from_string",
    "decode",
    "encode",
    "load_gvl",
    "reask_reason",
    "state_element",
    "tc_string",
]
