"""The deployment files are written, not run here: check they parse and agree with the product."""

from __future__ import annotations

from pathlib import Path

import yaml

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def test_compose_file_runs_migrations_before_the_api() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert services["migrate"]["command"] == ["lifeline", "migrate"]
    assert services["api"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["api"]["environment"]["LIFELINE_DATABASE_URL"].startswith(
        "postgresql+asyncpg://"
    )


def test_kubernetes_manifests_probe_the_real_endpoints() -> None:
    docs = list(yaml.safe_load_all((DEPLOY / "k8s" / "lifeline.yaml").read_text()))
    kinds = [d["kind"] for d in docs]
    assert kinds == ["Job", "Deployment", "Service"]
    container = docs[1]["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert docs[1]["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True


def test_dockerfile_runs_as_a_user_and_serves_the_cli() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    assert "USER 10001" in text
    assert 'CMD ["lifeline", "serve"' in text


def test_example_feeds_file_loads() -> None:
    from service.feeds.config import load_feeds

    feeds = load_feeds(str(DEPLOY / "feeds.example.yaml"))
    assert {f.name for f in feeds} >= {"gdacs", "usgs-significant", "pagasa"}
