"""`gatekeeper audit checkpoint|head|report`: signed heads for auditors to keep, and the
evidence report."""

from __future__ import annotations

import argparse
import json
import sys

from ..audit.checkpoint import Checkpoint
from ..audit.evidence import gather, render
from ..audit.findings import Report
from ..audit.heads import WitnessError
from ..audit.log import ConsentLog
from ..audit.period import PeriodError, moment
from ..html.render import Renderer
from .audit_support import kept_heads, run
from .common import FINDINGS, OK, Usage, guarded, output, policy_arg, policy_of


def cmd_report(args: argparse.Namespace) -> int:
    try:
        since = moment(args.since) if args.since else None
        until = moment(args.until, until=True) if args.until else None
    except PeriodError as exc:
        raise Usage(str(exc)) from None
    policy = policy_of(args)
    heads = kept_heads(args.head)
    renderer = Renderer(
        default_language=policy.languages.default, directory=policy.templates.directory
    )

    async def work(log: ConsentLog) -> Report:
        evidence = await gather(
            log,
            policy.site.name,
            since=since,
            until=until,
            shown_since=args.since,
            shown_until=args.until,
            heads=heads,
        )
        with output(args.output) as out:
            out.write(render(evidence, renderer))
        return evidence.report

    report = run(args, work)
    verdict = "OK" if report.ok else f"FAIL ({len(report.findings)} findings)"
    print(f"wrote the evidence report to {args.output}: verification {verdict}", file=sys.stderr)
    return OK if report.ok else FINDINGS


def cmd_checkpoint(args: argparse.Namespace) -> int:
    async def work(log: ConsentLog) -> tuple[Checkpoint | None, Checkpoint | None, str | None]:
        signed = await log.periodic.checkpoint(force=True)
        newest = signed or await log.signed_head()
        problem = None
        if log.witness is not None:
            try:
                await log.publish()
            except WitnessError as exc:
                problem = str(exc)
        return signed, newest, problem

    signed, newest, problem = run(args, work)
    if signed is None:
        where = f"the newest checkpoint, at size {newest.size}," if newest else "nothing:"
        print(f"nothing new to sign: {where} covers every record", file=sys.stderr)
    if newest is not None:
        print(json.dumps(newest.head(), indent=2))
    if problem is not None:
        print(f"the witness did not take the head (retried later): {problem}", file=sys.stderr)
        return FINDINGS
    return OK


def cmd_head(args: argparse.Namespace) -> int:
    async def work(log: ConsentLog) -> tuple[Checkpoint | None, int]:
        return await log.signed_head(), (await log.head()).size

    newest, size = run(args, work)
    if newest is None:
        print("no signed head yet: `gatekeeper audit checkpoint` signs one", file=sys.stderr)
        return FINDINGS
    print(json.dumps(newest.head(), indent=2))
    if newest.signature is None:
        print("note: this head is not signed (audit.signing_key is not set)", file=sys.stderr)
    if size > newest.size:
        print(
            f"note: {size - newest.size} newer records are not under it yet "
            "(the next checkpoint covers them)",
            file=sys.stderr,
        )
    return OK


def add_head_commands(commands: argparse._SubParsersAction) -> None:
    report = commands.add_parser(
        "report",
        help="write the evidence report for a period: one printable HTML file",
        description="Verify the log and write one self-contained HTML file: the result, "
        "the signed heads of the period, the texts shown per revision, decision "
        "statistics and charts. Exit 1 when the log fails verification.",
    )
    policy_arg(report)
    report.add_argument("--since", metavar="DAY", help="from this day (UTC), inclusive")
    report.add_argument("--until", metavar="DAY", help="up to this day (UTC), inclusive")
    report.add_argument("--output", "-o", required=True, metavar="FILE.html")
    report.add_argument(
        "--head",
        action="append",
        metavar="HEAD.json",
        help="a signed head kept from earlier: the report says whether the log extends it",
    )
    report.set_defaults(func=guarded("audit report", cmd_report))

    checkpoint = commands.add_parser(
        "checkpoint",
        help="sign a checkpoint over the records after the newest one, now",
        description="Sign a checkpoint now (the site also does this every "
        "audit.checkpoint_interval) and print it as a signed head; hand it to "
        "audit.witness if set.",
    )
    policy_arg(checkpoint)
    checkpoint.set_defaults(func=guarded("audit checkpoint", cmd_checkpoint))

    head = commands.add_parser(
        "head",
        help="print the newest signed head (JSON) for auditors to keep",
        description="Print the newest signed tree head: size, root, time, key id and "
        "signature. Keep it outside the database and check the log later with "
        "`verify --since`.",
    )
    policy_arg(head)
    head.set_defaults(func=guarded("audit head", cmd_head))
