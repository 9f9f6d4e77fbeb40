import os
from pathlib import Path

import pytest

from tests.k8s import manifests as m


@pytest.fixture(scope="session")
def manifest_dir() -> Path:
    """The folder under test; K8S_MANIFEST_DIR points the checks at another copy."""
    return Path(os.environ.get("K8S_MANIFEST_DIR", m.MANIFEST_DIR))


@pytest.fixture(scope="session")
def objs(manifest_dir):
    return m.load_dir(manifest_dir)
