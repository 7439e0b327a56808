"""The `gatekeeper` command: one module per command group, above every feature.

Exit codes: 0 ok, 1 findings, 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from . import adblock, audit, check, cookies, counts, geoip, serve, tcf


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gatekeeper",
        description="Consent, adblock detection, country blocks and notices for ASGI apps.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in (serve, check, audit, geoip, adblock, cookies, counts, tcf):
        group.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))
