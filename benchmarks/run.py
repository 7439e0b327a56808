"""gatekeeper's cost, measured against the bare app and a naive middleware in one run.

    python -m benchmarks.run            # in-process and end to end, tables and breakdown
    python -m benchmarks.run --quick    # fewer rounds, for a smoke check
    python -m benchmarks.run --skip-e2e # in-process only (no uvicorn, no wrk)

Rounds are interleaved (bare, gatekeeper, naive, bare, ...), so drift of the machine
hits all three alike; the tables show the median requests per second, the spread
(min-max over rounds), the ratio of medians against the bare app and the microseconds
gatekeeper adds to each request. The breakdown says where those microseconds go.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import statistics
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import apps, breakdown, extras
from benchmarks.harness import Case, consent_cookie, drive, serve, served_cookie, wrk

BLOCKED_IP = "203.0.113.200"  # Antarctica in the demo GeoIP database; the demo blocks AQ


def cases(accepted: str, refused: str) -> list[Case]:
    return [
        Case("HTML 20 KB, visitor accepted all", headers={"cookie": accepted}),
        Case("HTML 20 KB, visitor refused all (gate at work)", headers={"cookie": refused}),
        Case("HTML 20 KB, first visit (banner, gate on)"),
        Case("HTML 200 KB, first visit (banner, gate on)", path="/long"),
        Case("JSON endpoint", path="/api", headers={"cookie": accepted}),
        Case("304 Not Modified", headers={"cookie": accepted, "if-none-match": apps.ETAG}),
        Case(
            "blocked country (451)",
            client=BLOCKED_IP,
            e2e_headers={"x-gatekeeper-country": "AQ"},
        ),
    ]


Results = list[tuple[str, dict[str, list[float]]]]


def in_process(data: Path, rounds: int, count: int) -> tuple[Results, list[Case], object]:
    gatekeeper = apps.wrapped(data)
    contenders = {"bare": apps.bare(), "gatekeeper": gatekeeper, "naive": apps.naive()}
    results: Results = []
    chosen: list[Case] = []

    async def main() -> None:
        accepted = await consent_cookie(gatekeeper, "accept_all")
        refused = await consent_cookie(gatekeeper, "reject_all")
        chosen.extend(cases(accepted, refused))
        for case in chosen:
            samples: dict[str, list[float]] = {name: [] for name in contenders}
            for app in contenders.values():
                await drive(app, case, count // 5)  # warm caches and code paths
            for _ in range(rounds):
                for name, app in contenders.items():
                    samples[name].append(await drive(app, case, count))
            results.append((case.name, samples))

    asyncio.run(main())
    return results, chosen, gatekeeper


def end_to_end(data: Path, rounds: int, seconds: int) -> Results:
    servers = {
        "bare": serve("bare_factory", data),
        "gatekeeper": serve("gatekeeper_factory", data),
        "naive": serve("naive_factory", data),
    }
    results: Results = []
    try:
        port = servers["gatekeeper"][1]
        for case in cases(served_cookie(port, "accept_all"), served_cookie(port, "reject_all")):
            samples: dict[str, list[float]] = {name: [] for name in servers}
            for _ in range(rounds):
                for name, (_, port) in servers.items():
                    samples[name].append(wrk(port, case, seconds))
            results.append((case.name, samples))
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(timeout=10)
    return results


# --- output --------------------------------------------------------------------------------


def table(title: str, results: Results) -> str:
    lines = [
        f"**{title}** (requests/s, median of rounds, min–max in brackets; ratio against bare;"
        " µs gatekeeper adds per request)",
        "",
        "| case | bare | gatekeeper | naive BaseHTTPMiddleware | gatekeeper ratio | µs added "
        "| naive ratio |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, samples in results:
        med = {k: statistics.median(v) for k, v in samples.items()}
        cell = {
            key: f"{med[key]:,.0f} ({min(values):,.0f}–{max(values):,.0f})"
            for key, values in samples.items()
        }
        added = 1e6 / med["gatekeeper"] - 1e6 / med["bare"]
        lines.append(
            f"| {name} | {cell['bare']} | {cell['gatekeeper']} | {cell['naive']} | "
            f"{med['gatekeeper'] / med['bare']:.2f}× | {added:.1f} | "
            f"{med['naive'] / med['bare']:.2f}× |"
        )
    return "\n".join(lines)


def breakdown_table(gatekeeper: object, chosen: list[Case], results: Results) -> str:
    added = {
        name: 1e6 / statistics.median(s["gatekeeper"]) - 1e6 / statistics.median(s["bare"])
        for name, s in results
    }
    lines = [
        "**Where the microseconds go** (each step timed alone on the inputs of its case; "
        "`other` is the rest of the measured µs added: the responder, the send wrapper, "
        "allocation)",
        "",
        "| case | " + " | ".join(breakdown.STEPS) + " | other | app alone |",
        "| --- |" + " ---: |" * (len(breakdown.STEPS) + 2),
    ]
    for case in chosen:
        steps = breakdown.breakdown(gatekeeper, case)  # type: ignore[arg-type]
        app = steps.pop("app")
        other = added[case.name] - sum(steps.values())
        cells = " | ".join(f"{steps.get(step, 0.0):.1f}" for step in breakdown.STEPS)
        lines.append(f"| {case.name} | {cells} | {other:.1f} | {app:.1f} |")
    return "\n".join(lines)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds")
    parser.add_argument("--skip-e2e", action="store_true", help="in-process only")
    args = parser.parse_args(argv)
    rounds = 3 if args.quick else 7
    print(f"gatekeeper benchmarks, {datetime.now(UTC):%Y-%m-%d}, {machine()}\n")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        results, chosen, gatekeeper = in_process(data, rounds, 500 if args.quick else 2000)
        print(table("In-process (ASGI driver)", results))
        print()
        print(breakdown_table(gatekeeper, chosen, results))
        print()
        if args.skip_e2e or not shutil.which("wrk"):
            print("End to end: skipped (install wrk: apt-get install -y wrk)\n")
        else:
            e2e = end_to_end(data, rounds, 2 if args.quick else 4)
            title = "End to end (uvicorn, httptools + uvloop, 1 worker; wrk, 32 connections)"
            print(table(title, e2e))
            print()
        for line in extras.all_extras(data, quick=args.quick):
            print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
