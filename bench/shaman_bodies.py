"""Decoding a Shaman body of 10,000 files, run by hand: `python -m bench.shaman_bodies`.

Times `requirements_files` (a requirements request, with and without paths) and `checkout_request`
(a checkout) on bodies already parsed from JSON: the model's decoding plus the Shaman's checks of
each digest and path, the part of the request that grows with the file list. Best of 15 runs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from app.shaman.specs import checkout_request, requirements_files

FILES = 10_000
RUNS = 15


def best_seconds(decode: Callable[[Any], Any], body: Any) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        decode(body)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    files = [{"sha": f"{i:064x}", "size": i, "path": f"textures/f-{i:05d}.png"} for i in range(FILES)]
    with_paths = json.loads(json.dumps({"files": files, "checkoutPath": "project/shot"}))
    no_paths = json.loads(json.dumps({"files": [{"sha": f["sha"], "size": f["size"]} for f in files]}))
    for name, decode, body in (("requirements, with paths", requirements_files, with_paths),
                               ("requirements, no paths", requirements_files, no_paths),
                               ("checkout", checkout_request, with_paths)):
        best = best_seconds(decode, body)
        print(f"{name:26} {best * 1e6:9,.0f} µs per {FILES:,}-file body ({best * 1e6 / FILES:.2f} µs/file)")


if __name__ == "__main__":
    main()
