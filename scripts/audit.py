"""The installed dependencies checked for known vulnerabilities (pip-audit), less those allowed by
deploy/audit-allowlist.toml, each with its reason and the date by which to look at it again.

    .venv/bin/python scripts/audit.py [--allowlist FILE]

Exit 0 when the dependencies were audited and nothing was found, or when no vulnerability service
could be reached: then it says so loudly ("dependencies NOT audited: ..."), since a network that
is down says nothing about the dependencies and must not stop CI on its own. Exit 1 on a finding
not allowed, on an allowlist entry without its reason or past its date, and when pip-audit fails
for another reason than the network.

pip-audit says "No known vulnerabilities found" when every dependency was skipped (each lookup
answered 404, as behind a mirror of the package index that does not serve PyPI's per-release
JSON): that is read here as not audited, never as clean.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tomllib
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ALLOWLIST = ROOT / "deploy" / "audit-allowlist.toml"
#: pip-audit with PyPI's feed first (the index the dependencies come from), then with OSV's; last,
#: PyPI's project pages, which cover only the latest release of each project (see
#: ``latest_release_report``).
SERVICES = ("pypi", "osv", "pypi-latest")
#: The project itself, installed from the working tree, is on no index.
OURS = {"lifeline"}
#: What a failure of the network looks like in pip-audit's output, as opposed to a bug or a bad
#: argument (which fail the audit).
NETWORK_ERRORS = (
    "ConnectionError",
    "NameResolutionError",
    "Max retries exceeded",
    "Could not connect",
    "ConnectTimeout",
    "ReadTimeout",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "ServiceError",
)
TIMEOUT_S = 600


@dataclass(frozen=True)
class Allowed:
    """One vulnerability let through: why, and until when before someone looks again."""

    id: str
    reason: str
    review_by: date


@dataclass
class Verdict:
    """What one pip-audit report says, once the allowlist is applied."""

    audited: int = 0
    skipped: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)


def load_allowlist(path: Path, *, today: date) -> tuple[dict[str, Allowed], list[str]]:
    """The entries of ``path`` by id, and what is wrong with them: an entry without an id, a
    reason or a ``review_by`` date, or with a date before ``today``."""
    if not path.exists():
        return {}, []
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    entries: dict[str, Allowed] = {}
    problems: list[str] = []
    for n, raw in enumerate(data.get("ignore", []), start=1):
        vuln_id = str(raw.get("id", "")).strip()
        reason = str(raw.get("reason", "")).strip()
        review_by = raw.get("review_by")
        name = vuln_id or f"entry {n}"
        if not vuln_id:
            problems.append(f"{path.name}: entry {n} has no id")
        if not reason:
            problems.append(f"{path.name}: {name} has no reason")
        if not isinstance(review_by, date):
            problems.append(f"{path.name}: {name} has no review_by date (review_by = 2026-12-31)")
            continue
        if review_by < today:
            problems.append(
                f"{path.name}: {name} was to be looked at again by {review_by.isoformat()}: "
                "upgrade the dependency, or give the entry a new reason and date"
            )
        if vuln_id:
            entries[vuln_id] = Allowed(vuln_id, reason, review_by)
    return entries, problems


def judge(report: dict[str, Any], allowed: dict[str, Allowed]) -> Verdict:
    """Sort pip-audit's JSON report into audited, skipped, found and allowed."""
    verdict = Verdict()
    for dep in report.get("dependencies", []):
        label = f"{dep.get('name')} {dep.get('version', '')}".strip()
        if "skip_reason" in dep:
            verdict.skipped.append(f"{label}: {dep['skip_reason']}")
            continue
        verdict.audited += 1
        for vuln in dep.get("vulns", []):
            names = {vuln.get("id", ""), *vuln.get("aliases", [])}
            entry = next((allowed[n] for n in sorted(names) if n in allowed), None)
            fixes = ", ".join(vuln.get("fix_versions", [])) or "no fixed version yet"
            line = f"{label}: {vuln.get('id')} (fixed in {fixes})"
            if entry is None:
                verdict.findings.append(line)
            else:
                verdict.allowed.append(
                    f"{line}, allowed until {entry.review_by.isoformat()}: {entry.reason}"
                )
    return verdict


def run_pip_audit(service: str) -> tuple[dict[str, Any] | None, str]:
    """pip-audit over this interpreter's environment: its JSON report, or None and why not."""
    command = [
        sys.executable,
        "-m",
        "pip_audit",
        "--format",
        "json",
        "--progress-spinner",
        "off",
        # The project itself, installed editable, is not on any index.
        "--skip-editable",
        "--vulnerability-service",
        service,
    ]
    try:
        done = subprocess.run(  # noqa: S603 (our own interpreter, fixed arguments)
            command, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        return None, f"pip-audit ({service}) did not answer within {TIMEOUT_S} s"
    try:
        return json.loads(done.stdout), ""
    except json.JSONDecodeError:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return None, f"pip-audit ({service}) exited {done.returncode}: {tail}"


def latest_release_report() -> tuple[dict[str, Any] | None, str]:
    """A report in pip-audit's shape from PyPI's project pages (``/pypi/NAME/json``), where the
    per-release pages pip-audit reads are not served (an index mirror). A project's page lists
    the known vulnerabilities of its latest release only: a dependency installed at that release
    is audited by it, any other is skipped, and said to be."""
    installed = {
        dist.metadata["Name"].lower(): dist.version
        for dist in metadata.distributions()
        if dist.metadata["Name"] and dist.metadata["Name"].lower() not in OURS
    }

    def look(name: str) -> dict[str, Any]:
        version = installed[name]
        url = f"https://pypi.org/pypi/{name}/json"
        try:
            with urllib.request.urlopen(url, timeout=20) as answer:
                page = json.load(answer)
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                raise
            return {"name": name, "version": version, "skip_reason": "not on PyPI"}
        latest = page["info"]["version"]
        if latest != version:
            reason = f"installed {version}, latest {latest}: PyPI's page covers the latest only"
            return {"name": name, "version": version, "skip_reason": reason}
        if "vulnerabilities" not in page:
            return {"name": name, "version": version, "skip_reason": "no vulnerability data"}
        vulns = [
            {
                "id": v["id"],
                "fix_versions": v.get("fixed_in") or [],
                "aliases": v.get("aliases") or [],
            }
            for v in page["vulnerabilities"] or []
            if not v.get("withdrawn")
        ]
        return {"name": name, "version": version, "vulns": vulns}

    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            dependencies = list(pool.map(look, sorted(installed)))
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        # ValueError: an answer that is not PyPI's JSON (a proxy's page), as good as none.
        return None, f"pypi-latest: ConnectionError: {exc}"
    return {"dependencies": dependencies}, ""


def is_network_failure(why: str) -> bool:
    return any(marker in why for marker in NETWORK_ERRORS) or "did not answer" in why


def loud(message: str) -> None:
    bar = "=" * 78
    print(f"{bar}\n{message}\n{bar}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--allowlist", type=Path, default=ALLOWLIST)
    args = parser.parse_args(argv)

    allowed, problems = load_allowlist(args.allowlist, today=date.today())
    for problem in problems:
        print(f"audit allowlist: {problem}", file=sys.stderr)

    reasons: list[str] = []
    for service in SERVICES:
        report, why = (
            latest_release_report() if service == "pypi-latest" else run_pip_audit(service)
        )
        if report is None:
            if not is_network_failure(why):
                print(f"audit failed: {why}", file=sys.stderr)
                return 1
            reasons.append(why)
            continue
        verdict = judge(report, allowed)
        if verdict.audited == 0:
            first = verdict.skipped[0] if verdict.skipped else "no dependency listed"
            reasons.append(
                f"{service}: all {len(verdict.skipped)} dependencies skipped, none audited "
                f"({first})"
            )
            continue
        break
    else:
        said = "\n  ".join(reasons)
        loud(f"dependencies NOT audited: no vulnerability service answered\n  {said}")
        return 1 if problems else 0

    for reason in reasons:
        print(f"fell back: {reason}")
    print(f"audited {verdict.audited} dependencies against {service}'s vulnerability data")
    if verdict.skipped:
        said = "\n  ".join(verdict.skipped)
        loud(f"{len(verdict.skipped)} dependencies NOT audited:\n  {said}")
    for line in verdict.allowed:
        print(f"allowed: {line}")
    for line in verdict.findings:
        print(f"VULNERABLE: {line}", file=sys.stderr)
    if verdict.findings:
        print(
            "upgrade the dependency (raise its lower bound in pyproject.toml), or allow the "
            f"finding in {args.allowlist.name} with a reason and a review_by date",
            file=sys.stderr,
        )
    return 1 if verdict.findings or problems else 0


if __name__ == "__main__":
    sys.exit(main())
