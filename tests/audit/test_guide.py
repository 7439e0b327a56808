"""Every `gatekeeper audit` command in docs/auditors.md runs, in the guide's order, against
a real signed log of November 2026, and succeeds.

The blocks are read with tests/docs/test_code_blocks.py's collector and follow its
conventions: ```sh blocks, `<!-- test: skip -->` above a block leaves it out (the guide
says why), `\\` continues a line. The folder holds what the guide assumes: `policy.yaml`
with its key and a witness directory, and the log it names.
"""

from __future__ import annotations

import asyncio
import re
import shlex
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gatekeeper.audit import ConsentLog
from gatekeeper.policy import load_policy
from tests.audit.conftest import Clock, event, write_key
from tests.conftest import BASE_POLICY, REPO
from tests.docs.test_code_blocks import read_blocks

GUIDE = REPO / "docs" / "auditors.md"
CONSENT_ID = "c8e1d2f0a9b84c6e"  # the id the guide looks up
TEXTS = {
    "title": "Your privacy",
    "text": "We use cookies for analytics and advertising, with your consent.",
}
ALL = {"verify", "export", "report", "checkpoint", "head", "show", "stats", "purge", "texts"}


def guide_commands() -> list[tuple[int, str]]:
    commands = []
    for block in read_blocks(GUIDE):
        if block.language not in ("sh", "bash", "shell") or block.marker == "skip":
            continue
        joined = re.sub(r"\\\n\s*", " ", block.text)
        for line in joined.splitlines():
            if line.strip().startswith("gatekeeper audit "):
                commands.append((block.line, line.strip()))
    return commands


def november(folder: Path) -> None:
    write_key(folder / "audit-signing.pem")
    (folder / "policy.yaml").write_text(
        BASE_POLICY + 'audit:\n  store: "sqlite:///consent.db"\n'
        "  signing_key: audit-signing.pem\n  checkpoint_every: 10\n  witness: heads/\n",
        encoding="utf-8",
    )

    async def fill() -> None:
        log = ConsentLog.from_policy(load_policy(folder / "policy.yaml"))
        log.clock = Clock(datetime(2026, 11, 10, 9, 0, tzinfo=UTC))
        try:
            digest = await log.archive_texts("2026-11-01", "en", TEXTS)
            for n in range(45):
                log.clock.now += timedelta(hours=11)
                consent_id = CONSENT_ID if n % 7 == 0 else f"visitor-{n % 5}"
                await log.append(
                    event(n, texts_hash=digest, consent_id=consent_id, revision="2026-11-01")
                )
        finally:
            await log.close()

    asyncio.run(fill())


def test_the_auditors_guide_commands_run(tmp_path):
    commands = guide_commands()
    used = {line.split()[2] for _, line in commands}
    assert used >= ALL, f"the guide no longer shows {sorted(ALL - used)}"
    november(tmp_path)
    cli = f"{shlex.quote(sys.executable)} -m gatekeeper.cli"
    for line_number, command in commands:
        done = subprocess.run(
            ["bash", "-c", cli + command.removeprefix("gatekeeper")],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, (
            f"docs/auditors.md:{line_number}: `{command}` exited {done.returncode}\n"
            f"{done.stdout}{done.stderr}"
        )
    # What the guide's commands left behind is what it says they make.
    assert (tmp_path / "head.json").read_text().startswith("{")
    assert "BEGIN PUBLIC KEY" in (tmp_path / "consent-log-public.pem").read_text()
    report = (tmp_path / "evidence-2026-11.html").read_text()
    assert "<strong>OK</strong>" in report and "<script" not in report
    assert list((tmp_path / "heads").glob("*.json"))  # the witness kept the heads
