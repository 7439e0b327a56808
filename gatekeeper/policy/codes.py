"""ISO 3166 country codes and the regional groups a policy may name."""

from __future__ import annotations

import re

# ISO 3166-1 alpha-2, plus XK (Kosovo), which MaxMind's databases use.
COUNTRIES: frozenset[str] = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO
    BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ
    DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP
    GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG
    KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML
    MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE
    PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL
    SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM
    US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW XK
    """.split()
)

EU: frozenset[str] = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split()
)

# Groups are policy shorthands, expanded when the policy is loaded. Neither is an ISO code,
# which is why Google Consent Mode regions are always emitted as plain country codes.
GROUPS: dict[str, frozenset[str]] = {
    "EU": EU,
    "EEA": EU | {"IS", "LI", "NO"},
}

_SUBDIVISION = re.compile(r"^([A-Z]{2})-([A-Z0-9]{1,3})$")


def check_place(code: str) -> str:
    """Return the canonical form of a country, subdivision or group code, or raise ValueError."""
    upper = code.strip().upper()
    if upper in GROUPS or upper in COUNTRIES:
        return upper
    match = _SUBDIVISION.match(upper)
    if match:
        if match.group(1) not in COUNTRIES:
            raise ValueError(f"{code!r}: {match.group(1)!r} is not an ISO 3166-1 country code")
        return upper
    if len(upper) == 2 and upper.isalpha():
        raise ValueError(f"{code!r} is not an ISO 3166-1 country code")
    raise ValueError(
        f"{code!r} is not a place code: use a country (GB), a subdivision (US-CA) "
        f"or a group ({', '.join(sorted(GROUPS))})"
    )


def expand(codes: tuple[str, ...] | list[str]) -> frozenset[str]:
    """Countries and subdivisions named by `codes`, with groups replaced by their members."""
    out: set[str] = set()
    for code in codes:
        out |= GROUPS.get(code, {code})
    return frozenset(out)
