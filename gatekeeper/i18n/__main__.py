"""`python -m gatekeeper.i18n update | init LANG`: see gatekeeper/i18n/extract.py."""

from __future__ import annotations

import argparse
import sys

from .extract import init, update


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gatekeeper.i18n", description="Keep gatekeeper's catalogues up to date."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("update", help="extract the texts and merge them into every catalogue")
    start = commands.add_parser("init", help="start a catalogue for a new language")
    start.add_argument("language", help="a language tag such as pt-BR")
    args = parser.parse_args(argv)
    if args.command == "update":
        written = update()
        for path in written:
            print(f"wrote {path}")
        if not written:
            print("every catalogue is up to date")
        return 0
    try:
        print(f"wrote {init(args.language)}")
    except (FileExistsError, ValueError) as exc:
        print(f"python -m gatekeeper.i18n: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
