"""What a policy names outside itself, opened before the site starts and by `check`.

A policy can be valid and still name things that do not work: a GeoIP database that is
not there, a consent log in a folder that does not exist, a signing key that is not a
key, a template that does not compile. Some of these used to fail at start-up with a long
traceback, others only at the first request that needed them (the first consent, the
thousandth record's checkpoint), long after the operator had gone.

`startup_findings` opens each with the constructors the middleware uses, writing nothing
(no database file is created), and reports every problem at the key that names it. The
middleware calls `check_startup` before it starts and before a reloaded policy replaces
the running one; `gatekeeper check` calls `startup_findings` and then builds the whole
middleware, so a policy `check` passes is one the app starts with.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from .audit import ConsentLog
from .audit.checkpoint import KeyFileError
from .audit.store_sqlite import SQLiteStore
from .geo import GeoDatabaseError, GeoReader
from .geo.anonymous import AnonymousReader
from .html.assets import Assets
from .html.render import Renderer
from .policy import LoadedPolicy, PolicyError, PolicyIssue
from .policy.issues import sorted_issues
from .policy.loader import PLACEHOLDER
from .tcf.gvl import GVLError, load_gvl

_SQLITE_HEADER = b"SQLite format 3\x00"


@dataclass(slots=True)
class Findings:
    errors: list[PolicyIssue] = field(default_factory=list)
    # Problems the site starts with anyway (geoip.on_missing: allow), and what could not
    # be opened because it names an unset ${VARIABLE}.
    warnings: list[PolicyIssue] = field(default_factory=list)
    unopened: bool = False  # something named an unset ${VARIABLE}


def check_startup(loaded: LoadedPolicy) -> None:
    """Raise PolicyError listing what the policy names but cannot be used."""
    errors = startup_findings(loaded).errors
    if errors:
        raise PolicyError(errors)


def startup_error(source: str, exc: Exception, templates: Path | None = None) -> PolicyError:
    """One line for an exception raised while the middleware was being built: at the
    template line when an overriding template failed to render (they are rendered once,
    at start-up), else at the top of the policy."""
    message = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, jinja2.TemplateError) and templates is not None:
        folder = str(templates.resolve())
        trace = exc.__traceback__
        line = None
        while trace is not None:  # jinja puts the template's frames in the traceback
            if trace.tb_frame.f_code.co_filename.startswith(folder):
                line = (trace.tb_frame.f_code.co_filename, trace.tb_lineno)
            trace = trace.tb_next
        if line is not None:
            return PolicyError([PolicyIssue(line[0], line[1], 1, "", f"template error: {message}")])
    return PolicyError([PolicyIssue(source, 1, 1, "", f"cannot start: {message}")])


def startup_findings(loaded: LoadedPolicy) -> Findings:
    found = Findings()
    _geoip(loaded, found)
    _consent_log(loaded, found)
    _templates(loaded, found)
    _tcf(loaded, found)
    found.errors = sorted_issues(found.errors)
    found.warnings = sorted_issues(found.warnings)
    return found


def _unset(loaded: LoadedPolicy, value: object) -> str | None:
    """The unset variable a value was built from (`check` without the deployment's env)."""
    text = str(value)
    return next((n for n in loaded.placeholders if PLACEHOLDER.format(n) in text), None)


def _skipped(loaded: LoadedPolicy, found: Findings, loc: tuple[str, ...], value: object) -> bool:
    name = _unset(loaded, value)
    if name is not None:
        found.unopened = True
        found.warnings.append(loaded.issue(loc, f"not opened: it names unset ${{{name}}}"))
    return name is not None


def _geoip(loaded: LoadedPolicy, found: Findings) -> None:
    config = loaded.policy.geoip
    for key, path, reader in (
        ("database", config.database, GeoReader),
        ("anonymous_database", config.anonymous_database, AnonymousReader),
    ):
        loc = ("geoip", key)
        if path is None or _skipped(loaded, found, loc, path):
            continue
        try:
            reader(path, cache_size=0).close()
        except GeoDatabaseError as exc:
            if config.on_missing == "error":
                found.errors.append(loaded.issue(loc, str(exc)))
            else:
                consequence = (
                    "every location is unknown" if key == "database" else "no anonymous checks"
                )
                found.warnings.append(
                    loaded.issue(
                        loc, f"{exc}; {consequence} (geoip.on_missing: {config.on_missing})"
                    )
                )


def _consent_log(loaded: LoadedPolicy, found: Findings) -> None:
    audit = loaded.policy.audit
    if _skipped(loaded, found, ("audit", "store"), audit.store):
        return
    try:
        log = ConsentLog.from_policy(loaded.policy)  # no I/O: it connects on first use
    except ValueError as exc:
        found.errors.append(
            loaded.issue(("audit", "store"), re.sub(r"^audit\.store:? ", "", str(exc)))
        )
        return
    if isinstance(log.store, SQLiteStore):
        problem = _sqlite_problem(log.store.path)
        if problem:
            found.errors.append(loaded.issue(("audit", "store"), problem))
    key = audit.signing_key
    if key is not None and not _skipped(loaded, found, ("audit", "signing_key"), key):
        try:
            log.public_key()  # reads and parses the private key, as the first checkpoint will
        except KeyFileError as exc:
            message = str(exc).removeprefix("audit.signing_key ")
            found.errors.append(loaded.issue(("audit", "signing_key"), message))


def _sqlite_problem(path: Path) -> str | None:
    """Why SQLite could not keep the log at `path`, or None; looks, never creates."""
    folder = path.parent
    if not folder.is_dir():
        return f"the folder {folder} does not exist"
    # SQLite in WAL mode writes -wal and -shm files next to the log, so the folder itself
    # must be writable, not only the file.
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"the folder {folder} is not writable"
    if not path.exists():
        return None
    if not path.is_file():
        return f"{path} is not a file"
    if not os.access(path, os.R_OK | os.W_OK):
        return f"{path} is not readable and writable"
    try:
        with path.open("rb") as handle:
            header = handle.read(len(_SQLITE_HEADER))
    except OSError as exc:
        return f"{path}: cannot read: {exc.strerror}"
    if header and header != _SQLITE_HEADER:
        return f"{path} is not a SQLite database"
    return None


def _templates(loaded: LoadedPolicy, found: Findings) -> None:
    policy = loaded.policy
    folder = policy.templates.directory
    loc = ("templates", "directory")
    if folder is None or _skipped(loaded, found, loc, folder):
        return
    if not folder.is_dir():
        problem = "is not a folder" if folder.exists() else "does not exist"
        found.errors.append(loaded.issue(loc, f"the folder {folder} {problem}"))
        return
    # The renderer's own environment; the first request showing a template would
    # otherwise be where a syntax error in an override comes to light.
    renderer = Renderer(default_language=policy.languages.default, directory=folder)
    try:
        for name in jinja2.FileSystemLoader(folder).list_templates():
            if not name.endswith(".html"):
                continue  # static/ overrides are served as they are
            try:
                renderer.env.get_template(name)
            except jinja2.TemplateSyntaxError as exc:
                where = exc.filename or str(folder / name)
                found.errors.append(
                    PolicyIssue(where, exc.lineno or 1, 1, "", f"template error: {exc.message}")
                )
            except UnicodeDecodeError:
                found.errors.append(loaded.issue(loc, f"{folder / name} is not UTF-8 text"))
        Assets(policy.prefix, folder)  # reads the overriding static files
    except OSError as exc:
        found.errors.append(loaded.issue(loc, f"cannot read {exc.filename}: {exc.strerror}"))


def _tcf(loaded: LoadedPolicy, found: Findings) -> None:
    """A TCF policy needs consent on and a vendor list to disclose."""
    policy = loaded.policy
    if not policy.tcf.enabled:
        return
    if not policy.consent.enabled:
        found.errors.append(
            loaded.issue(("tcf", "cmp_id"), "TCF needs consent on (consent.enabled is false)")
        )
    loc = ("tcf", "gvl", "file")
    path = policy.tcf.gvl.file
    if _skipped(loaded, found, loc, path):
        return
    try:
        load_gvl(path)
    except GVLError as exc:
        found.errors.append(
            loaded.issue(
                loc, f"{exc} (download it: gatekeeper tcf update --policy {loaded.source})"
            )
        )
