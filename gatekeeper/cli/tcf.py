"""`gatekeeper tcf update|check|decode`: the vendor list, the policy against it, and what a
TC or GPP string says.

Exit codes follow the `gatekeeper` command: 0 ok, 1 failed or findings, 2 usage or
configuration error.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields, is_dataclass
from datetime import datetime
from typing import Any

from ..policy import Policy, PolicyError, load_policy
from ..tcf.disclosure import build_disclosure
from ..tcf.gpp import GppError, decode_gpp, decode_usnat, section_name
from ..tcf.gvl import GVLError, load_gvl
from ..tcf.string import IdRanges, TCStringError, decode
from ..tcf.update import GvlUpdateError, update_gvl

__all__ = ["register"]

from .common import FINDINGS as FAILED
from .common import OK, USAGE


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    tcf = commands.add_parser("tcf", help="IAB TCF: the vendor list, checks, strings")
    actions = tcf.add_subparsers(dest="tcf_command", required=True, metavar="ACTION")

    update = actions.add_parser(
        "update", help="download the Global Vendor List and its translations (tcf.gvl)"
    )
    update.add_argument("--policy", required=True, metavar="FILE")
    update.add_argument(
        "--force", action="store_true", help="download even while the list is still fresh"
    )
    update.set_defaults(func=cmd_update)

    check = actions.add_parser("check", help="check the tcf: section against the vendor list")
    check.add_argument("--policy", required=True, metavar="FILE")
    check.set_defaults(func=cmd_check)

    show = actions.add_parser("decode", help="print what a TC string or GPP string says")
    show.add_argument("string", metavar="STRING")
    show.set_defaults(func=cmd_decode)


def _fail(command: str, message: str, code: int) -> int:
    print(f"gatekeeper tcf {command}: {message}", file=sys.stderr)
    return code


def _load(path: str) -> Policy:
    # Like `geoip update`, this runs from cron or a laptop where secrets may be unset.
    return load_policy(path, placeholders=set())


def cmd_update(args: argparse.Namespace) -> int:
    try:
        policy = _load(args.policy)
    except PolicyError as exc:
        return _fail("update", str(exc), USAGE)
    try:
        updated = update_gvl(policy.tcf.gvl, policy.languages.available, force=args.force)
    except GvlUpdateError as exc:
        return _fail("update", str(exc), FAILED)
    state = "installed" if updated.changed else "unchanged"
    languages = ", ".join(("en", *updated.languages))
    print(
        f"{updated.path}: vendor list {updated.vendor_list_version} (TCF policy version "
        f"{updated.policy_version}) {state}; languages {languages}"
    )
    if updated.missing:
        print(f"no IAB translation for {', '.join(updated.missing)}: those notices use English")
    if updated.fresh_until is not None:
        print(f"fresh until {updated.fresh_until:%Y-%m-%d %H:%M} UTC (the list's max-age)")
    return OK


def cmd_check(args: argparse.Namespace) -> int:
    try:
        policy = _load(args.policy)
    except PolicyError as exc:
        return _fail("check", str(exc), USAGE)
    if not policy.tcf.enabled:
        print(f"{args.policy}: TCF is off (no tcf.cmp_id)")
        return OK
    try:
        gvl = load_gvl(policy.tcf.gvl.file)
    except GVLError as exc:
        return _fail("check", f"{exc} (run `gatekeeper tcf update --policy {args.policy}`)", FAILED)
    disclosure = build_disclosure(policy.tcf, gvl)
    for warning in disclosure.warnings:
        print(f"{args.policy}: {warning}")
    print(
        f"{args.policy}: CMP {disclosure.cmp_id}, vendor list {gvl.vendor_list_version}, "
        f"{len(disclosure.vendors)} vendors, purposes {list(disclosure.purposes)}"
    )
    return FAILED if disclosure.warnings else OK


def _plain(value: Any) -> Any:
    if isinstance(value, IdRanges):
        return [list(r) if r[0] != r[1] else r[0] for r in value.ranges()]
    if isinstance(value, frozenset | set):
        return sorted(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def cmd_decode(args: argparse.Namespace) -> int:
    text = args.string.strip()
    try:
        if text.startswith("D") and "~" in text:
            gpp = decode_gpp(text)
            out: dict[str, Any] = {"sections": {}}
            for section_id in gpp.section_ids:
                name = section_name(section_id) or str(section_id)
                body = gpp.sections[section_id]
                if name == "tcfeuv2":
                    out["sections"][name] = _plain(decode(body))
                elif name == "usnat":
                    out["sections"][name] = _plain(decode_usnat(body))
                else:
                    out["sections"][name] = body
        else:
            out = _plain(decode(text))
    except (TCStringError, GppError) as exc:
        return _fail("decode", str(exc), FAILED)
    print(json.dumps(out, indent=2))
    return OK
