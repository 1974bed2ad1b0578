"""Past one machine, simulated once: a Ray cluster of three nodes on 127.0.0.1 loses one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CHECK = Path(__file__).with_name("cluster_check.py")


@pytest.mark.slow
def test_runs_spread_over_three_nodes_come_back_when_one_node_goes() -> None:
    done = subprocess.run([sys.executable, str(CHECK)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "removed node" in done.stdout
