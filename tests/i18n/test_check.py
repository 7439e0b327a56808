"""`gatekeeper check` warns about languages a policy lists but cannot speak."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import BASE_POLICY, REPO


def check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gatekeeper.cli", "check", str(path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "HOME": "/tmp"},
        timeout=60,
    )


MISSING = (
    BASE_POLICY
    + """\
languages: {default: en, available: [en, de, ca, pt-BR]}
consent:
  categories:
    necessary: {required: true, label: {en: Needed, de: Nötig, pt: Necessário}}
    stats:
      label: Stats
      description: {en: Counts visits, de: Zählt Besuche, ca: Compta visites, pt-BR: Conta}
  banner:
    title: {en: Hello}
notifications:
  - id: english-only
    text: {en: Only for English readers}
    languages: [en]
  - id: everyone
    text: {en: For everyone, de: Für alle}
"""
)


def test_texts_and_catalogues_missing_for_listed_languages_are_findings(tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(MISSING, encoding="utf-8")
    result = check(policy)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        f"{policy}:3:46: languages.available[2]: gatekeeper has no built-in texts in 'ca': "
        "texts the policy does not set, and the notices' own labels, show in 'en' (bundled: "
        "bg, cs, da, de, el, en, es, et, fi, fr, ga, hr, hu, is, it, ja, lt, lv, mt, nb, nl, "
        "pl, pt, pt-BR, ro, sk, sl, sv, tr)",
        # "pt" covers pt-BR visitors: localise() falls back to the primary language.
        f"{policy}:6:40: consent.categories.necessary.label: no text in ca (listed in "
        "languages.available); those visitors read the en text",
        f"{policy}:11:12: consent.banner.title: no text in de, ca, pt-BR (listed in "
        "languages.available); those visitors read the en text",
        # english-only is shown to English readers only; "everyone" lacks two languages.
        f"{policy}:17:11: notifications[1].text: no text in ca, pt-BR (listed in "
        "languages.available); those visitors read the en text",
    ]


def test_a_policy_that_speaks_every_listed_language_checks_clean(tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        BASE_POLICY
        + "languages: {default: de, available: [de, fr, nb]}\n"
        + "consent:\n"
        + "  categories:\n"
        + "    necessary: {required: true, label: Nec}\n"  # one text for every language
        + "  banner:\n"
        + "    title: {de: Hallo, fr: Bonjour, nb: Hei}\n",
        encoding="utf-8",
    )
    result = check(policy)
    assert result.returncode == 0, result.stdout
    assert result.stdout == f"{policy}: ok\n"
