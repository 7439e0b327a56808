"""Instructions gatekeeper adds per request, counted by valgrind (callgrind), per case.

    python -m benchmarks.instructions              # every case, gatekeeper and bare
    python -m benchmarks.instructions --case 0 4   # only these cases (indexes of run.cases)
    python -m benchmarks.instructions --count 300  # requests per measured case
    python -m benchmarks.instructions --steps      # also per step (benchmarks.breakdown)

Wall-clock figures move with whatever else the machine runs; instruction counts do not,
so they are what to compare before and after a change (within a few hundred
instructions a request). One process under callgrind builds both apps, obtains the
consent cookies and warms every case with collection off; then each measured run (one
case, one app, `--count` requests) is the only code collected, through a
`functools.reduce` call that callgrind is told to collect in and dump after. Its total
divided by the count is one request; gatekeeper's minus the bare app's is what
gatekeeper adds. With `--steps`, each step of `benchmarks.breakdown` is counted the
same way, `--count` calls each. Needs valgrind; takes a minute or two.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

WARM = 50
_MEASURED = "functools_reduce"  # the C function callgrind collects inside


def _counted(call: Callable[[], object], count: int) -> None:
    """`count` calls of `call`, the only code callgrind collects (then dumps)."""

    def run(_: object, __: object) -> None:
        for _ in range(count):
            call()

    functools.reduce(run, (None,), None)


def child(chosen: list[int], count: int, labels: Path | None) -> None:
    """In the measured process: build, warm, then each measured run inside `reduce`;
    with `labels`, each step too, its label written there in order."""
    from benchmarks import apps, breakdown
    from benchmarks.harness import consent_cookie, drive
    from benchmarks.run import cases

    with tempfile.TemporaryDirectory() as tmp:
        gatekeeper = apps.wrapped(Path(tmp))
        contenders = {"gatekeeper": gatekeeper, "bare": apps.bare()}
        loop = asyncio.new_event_loop()
        accepted = loop.run_until_complete(consent_cookie(gatekeeper, "accept_all"))
        refused = loop.run_until_complete(consent_cookie(gatekeeper, "reject_all"))
        every = cases(accepted, refused)
        for case in every:
            for app in contenders.values():
                loop.run_until_complete(drive(app, case, WARM))
        names = []
        for index in chosen:
            case = every[index]
            for app in contenders.values():
                _counted(
                    lambda app=app, case=case: loop.run_until_complete(drive(app, case, count)), 1
                )
                names.append(f"{index}\trequest\t1")
            if labels is None:
                continue
            for step, sign, call in breakdown.steps(gatekeeper, case):
                call()  # warm
                _counted(call, count)
                names.append(f"{index}\t{step}\t{sign}")
        if labels is not None:
            labels.write_text("\n".join(names))
        loop.run_until_complete(gatekeeper.close())
        loop.close()


def measure(chosen: list[int], count: int, steps: bool) -> list[tuple[int, str, int, int]]:
    """(case, label, sign, instructions) of each measured run, in order: gatekeeper then
    bare (label "request"), then the steps."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        labels = Path(tmp) / "labels"
        env = {
            **os.environ,
            **({"GATEKEEPER_BENCH_LABELS": str(labels)} if steps else {}),
            "PYTHONHASHSEED": "0",
            "GATEKEEPER_SECRET": "instructions-benchmark-secret-0123456789abcdef",
        }
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                "--collect-atstart=no",
                f"--toggle-collect={_MEASURED}",
                f"--dump-after={_MEASURED}",
                sys.executable,
                "-m",
                "benchmarks.instructions",
                "--child",
                str(count),
                *map(str, chosen),
            ],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        dumps = sorted(
            Path(tmp).glob("callgrind.out.*"), key=lambda p: int(p.name.rsplit(".", 1)[1])
        )
        totals = []
        for dump in dumps:
            match = re.search(r"^summary: (\d+)", dump.read_text(errors="replace"), re.M)
            if match is None:
                raise RuntimeError(f"no instruction total in {dump.name}")
            totals.append(int(match.group(1)))
        rows = (
            labels.read_text().splitlines()
            if steps
            else [f"{i}\trequest\t1" for i in chosen for _ in range(2)]
        )
    if len(totals) < len(rows):
        raise RuntimeError(f"expected {len(rows)} dumps, callgrind wrote {len(totals)}")
    out_rows = []
    for row, total in zip(rows, totals[-len(rows) :], strict=True):
        index, label, sign = row.split("\t")
        out_rows.append((int(index), label, int(sign), total))
    return out_rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--child", type=int, nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--case", type=int, nargs="*", help="case indexes (default: all)")
    parser.add_argument("--count", type=int, default=200, help="requests per measured run")
    parser.add_argument("--steps", action="store_true", help="also count each step")
    args = parser.parse_args(argv)
    if args.child:
        labels = os.environ.get("GATEKEEPER_BENCH_LABELS")
        child(args.child[1:], args.child[0], Path(labels) if labels else None)
        return 0
    from benchmarks.breakdown import STEPS
    from benchmarks.run import cases

    names = [case.name for case in cases("", "")]
    chosen = args.case if args.case else list(range(len(names)))
    rows = measure(chosen, args.count, args.steps)
    print(f"Instructions per request (callgrind, {args.count} requests per figure)\n")
    head = "| case | gatekeeper | bare | added | bare/gatekeeper |"
    if args.steps:
        head += "".join(f" {step} |" for step in STEPS) + " other |"
    print(head)
    print("| --- |" + " ---: |" * (head.count("|") - 2))
    for index in chosen:
        mine = [r for r in rows if r[0] == index]
        gk, bare = (r[3] / args.count for r in mine if r[1] == "request")
        line = f"| {names[index]} | {gk:,.0f} | {bare:,.0f} | {gk - bare:,.0f} | {bare / gk:.2f}× |"
        if args.steps:
            figures = dict.fromkeys(STEPS, 0.0)
            for _, label, sign, total in mine:
                if label != "request":
                    figures[label] += sign * total / args.count
            other = gk - bare - sum(figures.values())
            line += "".join(f" {figures[s]:,.0f} |" for s in STEPS) + f" {other:,.0f} |"
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
