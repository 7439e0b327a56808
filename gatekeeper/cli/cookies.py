"""`gatekeeper cookies`: every cookie the app sets, as the server has seen it, and
gatekeeper's own.

Each cookie seen gets the category the policy gives it now, so one listed since it was
seen is no longer flagged. Exit codes: 0 every cookie seen is listed (or a framework's
necessary one), 1 at least one is unlisted (list it under its category in the policy),
2 usage or configuration error (a broken policy, a database that cannot be read).
"""

from __future__ import annotations

import argparse
import asyncio
import json

from ..consent.cookies import CookieCategories
from ..consent.inventory import SIGHTINGS, UNLISTED, own_cookies, sightings
from ..counters import Filter, StoreUnavailable, open_counter_store
from ..plan import ADBLOCK_COOKIE, OWN_COOKIES
from .common import FINDINGS, OK, Subcommands, Usage, guarded, policy_arg, policy_of, table


def cmd_cookies(args: argparse.Namespace) -> int:
    policy = policy_of(args)
    try:
        store = open_counter_store(policy.audit.store, create=False)
        rows = asyncio.run(store.rows(SIGHTINGS, Filter()))
    except ValueError as exc:
        raise Usage(f"{args.policy}: {exc}") from None
    except StoreUnavailable as exc:
        raise Usage(str(exc)) from None
    own_categories = {**dict.fromkeys(OWN_COOKIES), ADBLOCK_COOKIE: policy.adblock_category()}
    categories = CookieCategories(policy.consent, own_categories)

    def classify(name: str) -> str:
        return categories.category(name) if categories.known(name) else UNLISTED

    found = sightings(rows, classify)
    tcf_cookie = "euconsent-v2" if policy.tcf.enabled else None
    own = own_cookies(policy, own_categories, tcf_cookie)
    unlisted = [s for s in found if s.unlisted]
    if args.json:
        print(
            json.dumps(
                {
                    "app": [s.to_dict() for s in found],
                    "gatekeeper": [c.to_dict() for c in own],
                    "unlisted": len(unlisted),
                },
                indent=2,
            )
        )
    else:
        print("cookies the app sets (first and last day seen)")
        if found:
            header = ["name", "category", "path", "domain", "attributes", "first", "last"]
            lines = [
                [
                    s.name,
                    f"UNLISTED ({policy.consent.unlisted_cookies})" if s.unlisted else s.category,
                    s.path,
                    s.domain or "-",
                    s.attributes,
                    s.first_seen,
                    s.last_seen,
                ]
                for s in found
            ]
            print(table(header, lines, keys=len(header)))
        else:
            print(f"none seen yet in {store.display_url}")
        print("\ngatekeeper's own cookies")
        print(
            table(
                ["name", "category", "lifetime", "purpose"],
                [[c.name, c.category, c.lifetime, c.purpose.msgid] for c in own],
                keys=4,
            )
        )
        if unlisted:
            names = ", ".join(sorted({s.name for s in unlisted}))
            print(
                f"\n{len(unlisted)} unlisted: {names}. They count as "
                f"{policy.consent.unlisted_cookies!r} (consent.unlisted_cookies); list each "
                "under the category it belongs to."
            )
    return FINDINGS if unlisted else OK


def register(commands: Subcommands) -> None:
    """Add `cookies` to the `gatekeeper` command."""
    cookies = commands.add_parser(
        "cookies",
        help="every cookie the app sets, as seen by the server, flagging unlisted ones",
        description="The cookie inventory: what the app has set (first and last day seen, "
        "path, attributes, category or UNLISTED) and gatekeeper's own cookies.",
    )
    policy_arg(cookies)
    cookies.add_argument("--json", action="store_true", help="machine-readable output")
    cookies.set_defaults(func=guarded("cookies", cmd_cookies))
