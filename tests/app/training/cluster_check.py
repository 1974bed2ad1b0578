"""Past one machine, simulated: three Ray nodes on 127.0.0.1, runs spread over them, one node removed.

Run by tests/app/training/test_cluster.py in a process of its own (a Ray
driver connects to one cluster per process). Exits 0 when every run came back
and the API answered every request meanwhile; prints what it saw.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))
os.environ.update({"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"})


def main() -> int:
    from fastapi.testclient import TestClient
    from ray.cluster_utils import Cluster

    from app.main import create_app
    from app.training.ray_pool import RayPool
    from tests.app.conftest import TINY, make_settings

    node = {"num_cpus": 1, "node_ip_address": "127.0.0.1", "include_dashboard": False}
    cluster = Cluster(initialize_head=True, head_node_args=dict(node))
    workers = [
        cluster.add_node(**{k: v for k, v in node.items() if k != "include_dashboard"}) for _ in range(2)
    ]
    cluster.wait_for_nodes()
    pool = RayPool(3, address=cluster.address)
    runs = Path(tempfile.mkdtemp()) / "runs"
    failures: list[str] = []
    with TestClient(create_app(make_settings(runs, checkpoint_seconds=0.5), executor=pool)) as client:
        made = [client.post("/api/runs", json=TINY).json() for _ in range(3)]
        nodes = {c.index: _node_of(c) for c in pool.clients}
        print("actors on nodes:", nodes, flush=True)
        time.sleep(3.0)  # train, and save checkpoints
        before = {m["id"]: client.get(f"/api/runs/{m['id']}/status").json()["step"] for m in made}
        victim = next(w for w in workers if w.node_id in nodes.values())  # a node holding an actor
        cluster.remove_node(victim, allow_graceful=False)
        print("removed node", victim.node_id, flush=True)
        deadline = time.monotonic() + 60
        back: dict[str, int] = {}
        while len(back) < len(made) and time.monotonic() < deadline:
            for m in made:
                response = client.get(f"/api/runs/{m['id']}/status")
                if response.status_code != 200:
                    failures.append(f"{response.status_code} {response.text[:200]}")
                    continue
                status = response.json()
                if status["state"] == "running" and status["step"] > before[m["id"]] + 20:
                    back[m["id"]] = status["step"]
            time.sleep(0.2)
        print("steps before:", before, "after:", back, flush=True)
        if len(back) < len(made):
            failures.append(f"only {len(back)} of {len(made)} runs trained on after the node went")
    pool.shutdown()
    import ray

    ray.shutdown()
    cluster.shutdown()
    for failure in failures:
        print("FAILED:", failure, flush=True)
    return 1 if failures else 0


def _node_of(client: object) -> str:
    """The Ray node an actor runs on."""
    import ray

    handle = client.handle  # type: ignore[attr-defined]
    return str(ray.get(handle.node.remote(), timeout=30))


if __name__ == "__main__":
    raise SystemExit(main())
