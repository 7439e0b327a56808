"""The guides' code blocks, checked so they cannot rot.

Every fenced block in README.md and docs/*.md is collected with its file, line and the
HTML comment right above it (a marker such as `<!-- test: run -->`):

- ```yaml with a top-level `site:` is a whole policy and must load with `parse_policy`;
  any other ```yaml is a fragment and must load merged into a minimal policy. Every
  `${VARIABLE}` it names is set, so the check is about keys and values, not secrets.
- ```python must compile; blocks marked `<!-- test: run -->` (and the README's "Wrap an
  app" example) are run in a scratch folder holding a `policy.yaml` and a copy of
  `policies/`, and when they define an ASGI `app`, a browser-like GET / must answer 200
  with the consent banner in any HTML page.
- ```sh lines that call `gatekeeper check` or `gatekeeper schema` run in a subprocess and
  must exit 0.
- `<!-- test: skip -->` above a block leaves it out (say why next to the marker).

Errors name the guide's own file and line: policy text is padded with blank lines so
`parse_policy` reports positions in the Markdown file.
"""

from __future__ import annotations

import ast
import asyncio
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import typing
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType, UnionType
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from gatekeeper.policy import PolicyError, parse_policy
from gatekeeper.policy.schema import Policy
from tests.conftest import REPO, SECRET, require

GUIDES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
BANNER = 'data-gk-notice="consent"'

# The README is maintained with the rest of the product; its one app example must run
# even before it carries a marker.
ALWAYS_RUN = {("README.md", "Wrap an app")}

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,})(?P<info>[^`]*)$")
_MARKER = re.compile(r"^\s*<!--\s*test:\s*(?P<what>[\w-]+)\s*-->\s*$")
_HEADING = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*#*\s*$")
_TOP_KEY = re.compile(r"^(?P<key>[A-Za-z_][\w-]*)\s*:", re.MULTILINE)
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")

BASE_SECTIONS = {
    "site": 'site: {name: Docs Example, revision: "1"}',
    "secret_keys": 'secret_keys: ["${GATEKEEPER_SECRET}"]',
}


@dataclass(frozen=True)
class Block:
    guide: str  # file name relative to the repository
    line: int  # line of the first line of code (1-based)
    language: str
    text: str
    marker: str | None
    heading: str

    @property
    def id(self) -> str:
        return f"{self.guide}:{self.line}"

    @property
    def runs(self) -> bool:
        return self.marker == "run" or (self.guide, self.heading) in ALWAYS_RUN


def read_blocks(path: Path) -> list[Block]:
    """Fenced blocks of a Markdown file, in order."""
    guide = str(path.relative_to(REPO))
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    heading = ""
    index = 0
    while index < len(lines):
        line = lines[index]
        title = _HEADING.match(line)
        if title:
            heading = title.group("title")
        fence = _FENCE.match(line)
        if not fence:
            index += 1
            continue
        indent, ticks = fence.group("indent"), fence.group("fence")
        language = fence.group("info").strip().split(" ")[0].lower()
        previous = next((lines[i] for i in range(index - 1, -1, -1) if lines[i].strip()), "")
        marker = _MARKER.match(previous)
        body: list[str] = []
        end = index + 1
        while end < len(lines) and lines[end].strip() != ticks:
            # Blocks inside list items are indented like their fence.
            body.append(lines[end].removeprefix(indent))
            end += 1
        assert end < len(lines), f"{guide}:{index + 1}: code block is never closed"
        blocks.append(
            Block(
                guide=guide,
                line=index + 2,
                language=language,
                text="\n".join(body) + "\n",
                marker=marker.group("what") if marker else None,
                heading=heading,
            )
        )
        index = end + 1
    return blocks


ALL_BLOCKS = [block for guide in GUIDES for block in read_blocks(guide)]
ACTIVE = [block for block in ALL_BLOCKS if block.marker != "skip"]


def of(*languages: str) -> list[Block]:
    return [block for block in ACTIVE if block.language in languages]


YAML_BLOCKS = of("yaml", "yml")
PYTHON_BLOCKS = of("python", "py")
SHELL_BLOCKS = of("sh", "bash", "shell", "console")


def _ids(blocks: list[Block]) -> list[str]:
    return [block.id for block in blocks]


def test_the_guides_have_what_the_tests_expect() -> None:
    """Guards the collector: a broken fence regex would otherwise test nothing."""
    guides = {block.guide for block in ALL_BLOCKS}
    assert {"README.md", "docs/developers.md", "docs/operators.md", "docs/auditors.md"} <= guides
    operators = [b for b in YAML_BLOCKS if b.guide == "docs/operators.md"]
    assert len(operators) >= 15
    running = [b for b in PYTHON_BLOCKS if b.runs]
    assert len(running) >= 6
    # The README's Starlette example is one of them.
    assert any(b.guide == "README.md" for b in running)
    assert any(_commands(b) for b in SHELL_BLOCKS)


# --- YAML: policies and fragments ---------------------------------------------------------


def _env_for(text: str) -> dict[str, str]:
    # 32+ characters, so a variable used as a secret key is a valid one.
    names = set(_VARIABLE.findall(text)) | {"GATEKEEPER_SECRET"}
    return {name: f"docs-check-{name.lower()}-0123456789abcdef0123456789" for name in names}


def _policy_text(block: Block) -> str:
    """The block as a loadable policy, its lines where they are in the guide."""
    padded = "\n" * (block.line - 1) + block.text
    if re.search(r"^site\s*:", block.text, re.MULTILINE):
        return padded
    present = set(_TOP_KEY.findall(block.text))
    missing = [text for key, text in BASE_SECTIONS.items() if key not in present]
    return padded + "\n" + "\n".join(missing) + "\n"


@pytest.mark.parametrize("block", YAML_BLOCKS, ids=_ids(YAML_BLOCKS))
def test_yaml_block_is_a_valid_policy(block: Block, tmp_path: Path) -> None:
    text = _policy_text(block)
    try:
        policy = parse_policy(text, source=block.guide, base_dir=tmp_path, env=_env_for(block.text))
    except PolicyError as exc:
        pytest.fail(f"{block.guide} block at line {block.line} does not load:\n{exc}")
    assert isinstance(policy, Policy)


# --- Python ----------------------------------------------------------------------------------


def _imported_packages(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=_ids(PYTHON_BLOCKS))
def test_python_block_compiles(block: Block) -> None:
    compile(block.text, f"{block.guide}:{block.line}", "exec")


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder like a new project's: policy.yaml, policies/, the secret set."""
    shutil.copytree(REPO / "policies", tmp_path / "policies")
    minimal = (REPO / "policies" / "minimal.yaml").read_text(encoding="utf-8")
    (tmp_path / "policy.yaml").write_text(minimal, encoding="utf-8")
    monkeypatch.setenv("GATEKEEPER_SECRET", SECRET)
    monkeypatch.chdir(tmp_path)
    return tmp_path


async def _get_home(app: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        return await client.get("/", headers={"Accept": "text/html"})


RUNNABLE = [block for block in PYTHON_BLOCKS if block.runs]


@pytest.mark.parametrize("block", RUNNABLE, ids=_ids(RUNNABLE))
def test_runnable_python_block_serves_a_wrapped_page(
    block: Block, scratch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = compile(block.text, f"{block.guide}:{block.line}", "exec")
    for package in sorted(_imported_packages(ast.parse(block.text))):
        require(
            importlib.util.find_spec(package) is not None,
            f"{block.id} needs {package} (pip install -e '.[dev]')",
        )
    # Run as a module of its own, as the reader's file would be: frameworks look their
    # handlers' modules up in sys.modules (Litestar resolves annotations there).
    module = ModuleType("docs_block")
    module.__file__ = str(scratch / "docs_block.py")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    exec(code, module.__dict__)
    app = module.__dict__.get("app")
    if app is None:
        return
    response = asyncio.run(_get_home(app))
    assert response.status_code == 200, f"{block.id}: GET / -> {response.status_code}"
    if response.headers.get("content-type", "").startswith("text/html"):
        # Loopback is an unknown location, asked first under policies/minimal.yaml.
        assert response.text.count(BANNER) == 1, f"{block.id}: no consent banner in GET /"


# --- shell: gatekeeper check and schema ----------------------------------------------------

_RUN_COMMANDS = re.compile(r"^gatekeeper\s+(check|schema)\b")


def _commands(block: Block) -> list[str]:
    """The block's `gatekeeper check|schema` command lines (continuations joined)."""
    joined = re.sub(r"\\\n\s*", " ", block.text)
    lines = [line.strip().removeprefix("$ ") for line in joined.splitlines()]
    return [line for line in lines if _RUN_COMMANDS.match(line)]


COMMAND_BLOCKS = [block for block in SHELL_BLOCKS if _commands(block)]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder where the guides' relative paths resolve: the repository's policies and
    examples (linked, so their own relative paths still work) and a policy.yaml."""
    for name in ("policies", "examples", "gatekeeper"):
        (tmp_path / name).symlink_to(REPO / name, target_is_directory=True)
    shutil.copy(REPO / "policies" / "minimal.yaml", tmp_path / "policy.yaml")
    return tmp_path


@pytest.mark.parametrize("block", COMMAND_BLOCKS, ids=_ids(COMMAND_BLOCKS))
def test_shell_gatekeeper_commands_succeed(block: Block, project: Path) -> None:
    cli = f"{shlex.quote(sys.executable)} -m gatekeeper.cli"
    env = {**os.environ, "GATEKEEPER_SECRET": SECRET}
    for command in _commands(block):
        line = cli + command.removeprefix("gatekeeper")
        done = subprocess.run(
            ["bash", "-c", line], cwd=project, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, (
            f"{block.id}: `{command}` exited {done.returncode}\n{done.stdout}{done.stderr}"
        )
        if command.split()[:2] == ["gatekeeper", "schema"] and ">" not in command:
            assert json.loads(done.stdout)["title"] == "Policy"


# --- operators.md documents every key -------------------------------------------------------


def _unwrap(annotation: Any) -> list[Any]:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, UnionType):
        return [t for arg in typing.get_args(annotation) for t in _unwrap(arg)]
    return [annotation]


def policy_keys(model: type[BaseModel] = Policy, prefix: str = "") -> list[str]:
    """Every key of the policy as the guide names it: `consent.categories.<name>.label`,
    `geoblock.rules[].paths`, `notifications[].links[].href`."""
    keys: list[str] = []
    for name, field in model.model_fields.items():
        path = prefix + name
        keys.append(path)
        for candidate in _unwrap(field.annotation):
            origin = typing.get_origin(candidate)
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                keys += policy_keys(candidate, path + ".")
            elif origin is dict:
                for value in _unwrap(typing.get_args(candidate)[1]):
                    if isinstance(value, type) and issubclass(value, BaseModel):
                        keys += policy_keys(value, path + ".<name>.")
            elif origin is tuple:
                for item in _unwrap(typing.get_args(candidate)[0]):
                    if isinstance(item, type) and issubclass(item, BaseModel):
                        keys += policy_keys(item, path + "[].")
    return keys


def test_operators_guide_documents_every_policy_key() -> None:
    guide = (REPO / "docs" / "operators.md").read_text(encoding="utf-8")
    keys = policy_keys()
    assert "consent.categories.<name>.sale_or_sharing" in keys  # the walk reaches maps
    assert "notifications[].links[].href" in keys  # and lists of lists
    missing = [key for key in keys if f"`{key}`" not in guide]
    assert not missing, f"docs/operators.md does not document: {', '.join(missing)}"
