"""Session fixture: a tiny synthetic world (random-init main + control checkpoints, shards, problems)."""

import pytest

from tests.fixtures.world import build_world


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return build_world(tmp_path_factory.mktemp("world"))
