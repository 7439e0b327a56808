"""docs/architecture.md against the code: the layers it draws are the ones CI enforces,
its table names every package and only packages that exist, the paths it cites exist."""

from __future__ import annotations

import re
import tomllib

from tests.conftest import REPO

GUIDE = REPO / "docs" / "architecture.md"
PACKAGE = REPO / "gatekeeper"


def _section(title: str) -> str:
    text = GUIDE.read_text(encoding="utf-8")
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def _contract(contract_id: str) -> dict:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    return next(c for c in contracts if c["id"] == contract_id)


def test_the_drawn_layers_are_the_enforced_ones():
    block = re.search(r"```text\n(.*?)```", _section("Who may import whom"), re.S)
    assert block, "the layers are drawn in a ```text block"
    drawn = [line.strip() for line in block.group(1).splitlines() if line.strip()]
    contract = _contract("layers")
    assert contract["containers"] == ["gatekeeper"] and contract["exhaustive"] is True
    assert drawn == [layer.strip() for layer in contract["layers"]]


def test_ci_runs_the_contracts():
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert ".venv/bin/lint-imports" in ci
    assert ci.index(".venv/bin/lint-imports") == ci.index(".venv/bin/ruff check .") + 1


def test_the_table_names_every_package_of_gatekeeper():
    rows = [line for line in _section("The packages").splitlines() if line.startswith("| `")]
    named = {name for row in rows for name in re.findall(r"`([^`]+)`", row.split(" | ")[0])}
    for name in named:
        assert (PACKAGE / name).exists(), f"the table names gatekeeper/{name}, which is gone"
    modules = {
        path.name + "/" if path.is_dir() else path.name
        for path in PACKAGE.iterdir()
        if (path.is_dir() and (path / "__init__.py").exists())
        or (path.suffix == ".py" and path.name != "__init__.py")
    }
    assert modules - named == set(), "docs/architecture.md, The packages: add these"


def test_every_cited_path_exists():
    text = GUIDE.read_text(encoding="utf-8")
    cited = set(re.findall(r"`((?:gatekeeper|tests|examples|benchmarks)/[\w./]*)`", text))
    assert len(cited) >= 15  # the pattern still finds the citations
    missing = sorted(path for path in cited if not (REPO / path).exists())
    assert not missing, f"docs/architecture.md cites what is not there: {missing}"


def test_the_guides_link_to_it():
    for guide in ("README.md", "docs/developers.md"):
        text = (REPO / guide).read_text(encoding="utf-8")
        assert "architecture.md" in text, f"{guide} links to docs/architecture.md"
