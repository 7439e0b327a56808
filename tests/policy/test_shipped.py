"""The policies shipped in policies/ and the JSON Schema editors read.

The full tour, policies/site.yaml, must set every field of every model reachable from
`Policy`, so a new schema field without a tour entry fails here.
"""

from __future__ import annotations

import json
import re
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from gatekeeper.policy import Policy, PolicyError, load_policy
from tests.conftest import REPO

POLICIES = REPO / "policies"
SHIPPED = sorted(POLICIES.glob("*.yaml"))
TOUR = POLICIES / "site.yaml"
SCHEMA_FILE = REPO / "gatekeeper" / "policy" / "policy.schema.json"
MODELINE = "# yaml-language-server: $schema=../gatekeeper/policy/policy.schema.json"
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}")


def variables(path: Path) -> dict[str, bool]:
    """Every ${VAR} a policy's values use (comments left out), and whether it has a default."""
    found: dict[str, bool] = {}

    def visit(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                visit(item)
        elif isinstance(value, list):
            for item in value:
                visit(item)
        elif isinstance(value, str):
            for match in VARIABLE.finditer(value):
                found[match.group(1)] = found.get(match.group(1), True) and bool(match.group(2))

    visit(yaml.safe_load(path.read_text(encoding="utf-8")))
    return found


def full_env(path: Path) -> dict[str, str]:
    """A value for every variable the policy uses; long enough to be a secret key."""
    return {name: f"{name.lower()}-0123456789abcdef0123456789" for name in variables(path)}


def test_the_expected_policies_are_shipped():
    names = {path.name for path in SHIPPED}
    assert {"site.yaml", "minimal.yaml", "eu-strict.yaml", "us-opt-out.yaml"} <= names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_policy_loads(path):
    env = full_env(path)
    assert "GATEKEEPER_SECRET" in env
    policy = load_policy(path, env=env)
    assert policy.secret_keys[0] == env["GATEKEEPER_SECRET"]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_policy_needs_only_the_secret(path):
    """The README's one-variable start works: every other variable has a default."""
    required = [name for name, has_default in variables(path).items() if not has_default]
    assert required == ["GATEKEEPER_SECRET"]
    load_policy(path, env={"GATEKEEPER_SECRET": "g" * 40})


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_policy_without_the_secret_says_so(path):
    with pytest.raises(PolicyError) as info:
        load_policy(path, env={})
    (issue,) = info.value.issues
    assert issue.message == "environment variable GATEKEEPER_SECRET is not set"
    assert issue.path == "secret_keys[0]"
    line = path.read_text(encoding="utf-8").splitlines()[issue.line - 1]
    assert line.startswith("secret_keys:") and "${GATEKEEPER_SECRET}" in line


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_policy_starts_with_the_schema_modeline(path):
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first == MODELINE
    # The modeline's path is relative to the file an editor opens.
    assert (path.parent / "../gatekeeper/policy/policy.schema.json").resolve() == SCHEMA_FILE


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_policy_is_commented(path):
    comments = [
        line
        for line in path.read_text(encoding="utf-8").splitlines()[1:]
        if line.lstrip().startswith("#")
    ]
    assert len(comments) >= 5


# --- the tour covers the schema ---------------------------------------------------------


def _nested(annotation: Any) -> Iterator[tuple[str, type[BaseModel]]]:
    """The models a field may hold: ("model", M), ("dict", M) or ("items", M)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        yield from _nested(typing.get_args(annotation)[0])
    elif origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            yield from _nested(arg)
    elif origin is dict:
        for kind, model in _nested(typing.get_args(annotation)[1]):
            if kind == "model":
                yield "dict", model
    elif origin in (tuple, list):
        for kind, model in _nested(typing.get_args(annotation)[0]):
            if kind == "model":
                yield "items", model
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield "model", annotation


def reachable_models(root: type[BaseModel]) -> set[type[BaseModel]]:
    found = {root}
    pending = [root]
    while pending:
        for field in pending.pop().model_fields.values():
            for _, model in _nested(field.annotation):
                if model not in found:
                    found.add(model)
                    pending.append(model)
    return found


def keys_set(model: type[BaseModel], data: Any, seen: dict[type[BaseModel], set[str]]) -> None:
    """Record, per model, which of its fields the YAML data sets anywhere."""
    if not isinstance(data, dict):
        return
    for name, field in model.model_fields.items():
        key = field.alias or name
        if key not in data:
            continue
        seen.setdefault(model, set()).add(name)
        value = data[key]
        for kind, nested in _nested(field.annotation):
            if kind == "model":
                keys_set(nested, value, seen)
            elif kind == "dict" and isinstance(value, dict):
                for item in value.values():
                    keys_set(nested, item, seen)
            elif kind == "items" and isinstance(value, list):
                for item in value:
                    keys_set(nested, item, seen)


def test_the_walk_reaches_nested_models():
    names = {model.__name__ for model in reachable_models(Policy)}
    # A model, a dict of models, tuples of models, and a model nested three deep.
    assert {
        "SiteSettings",
        "CategorySettings",
        "GeoRuleSettings",
        "NotificationSettings",
        "LinkSettings",
        "AuditSinkSettings",
    } <= names


def test_the_tour_sets_every_field_of_every_model():
    data = yaml.safe_load(TOUR.read_text(encoding="utf-8"))
    seen: dict[type[BaseModel], set[str]] = {}
    keys_set(Policy, data, seen)
    missing = sorted(
        f"{model.__name__}.{name}"
        for model in reachable_models(Policy)
        for name in model.model_fields
        if name not in seen.get(model, set())
    )
    assert not missing, f"policies/site.yaml does not show: {', '.join(missing)}"


def test_the_tour_shows_every_mode_and_both_kinds_of_rule():
    policy = load_policy(TOUR, env=full_env(TOUR))
    modes = policy.consent.modes
    assert modes.opt_in and modes.opt_out and modes.notice
    assert {"necessary", "functional", "analytics", "ads"} <= set(policy.consent.categories)
    assert any(rule.allow for rule in policy.geoblock.rules)
    assert any(rule.deny for rule in policy.geoblock.rules)
    assert len(policy.notifications) >= 2
    labels = {link.label.get("en") for n in policy.notifications for link in n.links}
    assert {"Contact Us", "Buy Now!"} <= labels
    # The banner speaks every language the tour offers.
    for text in (policy.consent.banner.title, policy.consent.banner.text):
        assert set(policy.languages.available) <= set(text)


def test_the_tour_takes_its_secrets_from_the_environment():
    env = full_env(TOUR)
    assert {"GATEKEEPER_SECRET", "GATEKEEPER_AUDIT_TOKEN", "GATEKEEPER_AUDIT_PASSWORD"} <= set(env)
    policy = load_policy(TOUR, env=env)
    assert policy.audit.view.token == env["GATEKEEPER_AUDIT_TOKEN"]
    assert policy.audit.view.password == env["GATEKEEPER_AUDIT_PASSWORD"]
    assert policy.audit.sink is not None
    assert policy.audit.sink.token == env["GATEKEEPER_AUDIT_SINK_TOKEN"]


def test_the_tour_resolves_its_files_next_to_itself():
    policy = load_policy(TOUR, env=full_env(TOUR))
    assert policy.geoip.database is not None
    assert policy.geoip.database.resolve() == REPO / "data" / "GeoIP2-City.mmdb"
    assert policy.audit.store == f"sqlite:///{POLICIES / '../data/consent.db'}"


# --- the editors' schema ----------------------------------------------------------------


def test_schema_file_is_in_sync_with_the_models():
    expected = json.dumps(Policy.model_json_schema(), indent=2) + "\n"
    actual = SCHEMA_FILE.read_text(encoding="utf-8") if SCHEMA_FILE.exists() else ""
    assert actual == expected, (
        f"{SCHEMA_FILE.relative_to(REPO)} is out of date; regenerate it with "
        "`gatekeeper schema > gatekeeper/policy/policy.schema.json`"
    )
