"""A visitor's consent: the signed cookie that carries it and what it allows.

The cookie holds a random consent id (the key of the visitor's history in the consent
log), the policy revision it was given under, one choice per optional category, the
decision time and the mode. It is signed with itsdangerous: the first secret key signs,
every key verifies, so keys rotate without asking anyone again. Anything that does not
verify, is too old or belongs to an older revision is "no decision", never an error.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ..memo import Memo
from ..policy import Policy
from ..signing import CookieSigner

SALT = "gatekeeper.consent.v1"


def new_consent_id() -> str:
    return secrets.token_urlsafe(12)


@dataclass(frozen=True, slots=True)
class ConsentState:
    """A decision read from (or about to be written to) the consent cookie."""

    consent_id: str
    revision: str
    choices: Mapping[str, bool]
    """Optional categories the visitor decided on; required ones are never listed."""
    decided_at: int
    mode: str
    gpc_recorded: bool = False
    """A GPC signal was logged for this consent id (recorded once)."""
    decided: bool = True
    """False when the cookie only remembers a GPC record, not a choice."""
    tcf: str = ""
    """The binding of the TC string minted with this decision (gatekeeper.tcf.edition),
    "" without TCF: the `euconsent-v2` cookie counts only with it."""

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "i": self.consent_id,
            "r": self.revision,
            "c": {name: int(value) for name, value in self.choices.items()},
            "t": self.decided_at,
            "m": self.mode,
            "g": int(self.gpc_recorded),
            "d": int(self.decided),
        }
        if self.tcf:
            data["x"] = self.tcf
        return data

    @classmethod
    def from_json(cls, data: object) -> ConsentState:
        if not isinstance(data, dict):
            raise ValueError("not an object")
        choices = data["c"]
        if not isinstance(choices, dict):
            raise ValueError("choices not an object")
        return cls(
            consent_id=str(data["i"]),
            revision=str(data["r"]),
            choices={str(k): bool(v) for k, v in choices.items()},
            decided_at=int(data["t"]),
            mode=str(data["m"]),
            gpc_recorded=bool(data.get("g", 0)),
            decided=bool(data.get("d", 1)),
            tcf=str(data.get("x", "")),
        )


@dataclass(frozen=True, slots=True, eq=False)
class Consent:
    """What the visitor's consent allows on this request (`visitor.consent`).

    Immutable: a decision made on this request gives the visitor a new `Consent`, so
    every step after it (the response's cookie filter included) reads the same answer.
    """

    mode: str
    state: ConsentState | None
    required: frozenset[str]
    sale_or_sharing: frozenset[str]
    gpc: bool
    """GPC applies to this visitor (signal sent, honoured where they are)."""
    known: frozenset[str] = field(default_factory=frozenset)
    allowed: frozenset[str] = field(init=False)
    """The categories that may run now, computed once."""
    refuses_any: bool = field(init=False)
    """Some category may not run (read on every response: computed once too)."""

    def __post_init__(self) -> None:
        every = self.known | self.required
        allowed = frozenset(c for c in every if self._allows(c))
        object.__setattr__(self, "allowed", allowed)
        object.__setattr__(self, "refuses_any", len(allowed) < len(every))

    @property
    def decided(self) -> bool:
        return self.state is not None and self.state.decided

    def _allows(self, category: str) -> bool:
        if category in self.required:
            return True
        if self.decided and category in self.state.choices:  # type: ignore[union-attr]
            return self.state.choices[category]  # type: ignore[union-attr]
        if self.gpc and category in self.sale_or_sharing:
            return False  # GPC is an opt-out, never consent; only an explicit choice wins
        return self.mode != "opt_in"

    def allows(self, category: str) -> bool:
        """May this category run for this visitor now? Unknown categories: never."""
        return category in self.allowed

    def categories(self) -> dict[str, bool]:
        return {name: name in self.allowed for name in sorted(self.known | self.required)}

    def __repr__(self) -> str:
        return (
            f"Consent(mode={self.mode!r}, decided={self.decided}, allowed={sorted(self.allowed)})"
        )


class ConsentCookie:
    """Signs and verifies the consent cookie; verification results are cached."""

    def __init__(
        self,
        policy: Policy,
        *,
        clock: Callable[[], float] = time.time,
        cache_size: int = 4096,
    ) -> None:
        self._signer = CookieSigner(policy.secret_keys, SALT, clock=clock)
        self.name = policy.consent.cookie.name
        self.revision = policy.site.revision
        self.max_age = policy.consent.max_age_days * 86400
        self.categories = frozenset(policy.consent.categories)
        self._clock = clock
        self._verified: Memo[str, tuple[ConsentState, int] | None] = Memo(self._verify, cache_size)

    def dumps(self, state: ConsentState) -> str:
        return self._signer.dumps(state.to_json())

    def loads(self, value: str) -> ConsentState | None:
        """The state in a cookie value, or None for anything not valid now."""
        entry = self._verified[value]
        if entry is None or self._clock() - entry[1] > self.max_age:
            return None
        return entry[0]

    def expiry(self, value: str) -> float | None:
        """When a valid cookie value stops being valid (None: it is not valid now)."""
        entry = self._verified[value]
        return None if entry is None else entry[1] + self.max_age

    def _verify(self, value: str) -> tuple[ConsentState, int] | None:
        """The state and signing time of a cookie value; None if it is not ours, or not of
        this revision and categories. Expiry is checked on every use, not here."""
        signed = self._signer.loads(value)
        if signed is None:
            return None
        try:
            state = ConsentState.from_json(signed[0])
        except (ValueError, KeyError, TypeError):
            return None
        if state.revision != self.revision or not set(state.choices) <= self.categories:
            return None
        return (state, signed[1])
