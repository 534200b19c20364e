"""Shaman and packer figures, run by hand: `python -m bench.shaman [--scale 1.0] [--dir DIR]`.

1. Hashing throughput of the packer's hasher against `sha256sum` on the same files (20 x 50 MB).
2. Bytes sent when re-submitting a 500 MB project (100 x 5 MB) after one 5 MB file changed, against a
   real aiohttp server on 127.0.0.1 with the Shaman routes (no Manager).
3. Time to check out 10,000 files (symlink, hardlink and copy modes).

Everything is written under one temporary directory that is removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
from aiohttp import web

from app.packer import PackRequest, pack_job
from app.packer.hashing import hash_file, hash_files
from app.shaman import LinkMode, Shaman, ShamanConfig
from app.shaman.specs import FileKey, FileSpec
from app.shaman.web import add_shaman_routes

MB = 1_000_000


def write_random_files(directory: Path, count: int, size: int) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = directory / f"file-{i:03d}.bin"
        path.write_bytes(os.urandom(size))
        paths.append(path)
    return paths


def best_of(runs: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_hashing(base: Path, scale: float) -> None:
    paths = write_random_files(base / "hash", 20, int(50 * MB * scale))
    total = sum(p.stat().st_size for p in paths)
    subprocess.run(["cat", *map(str, paths)], stdout=subprocess.DEVNULL, check=True)  # warm the page cache
    sha256sum = best_of(
        3, lambda: subprocess.run(["sha256sum", *map(str, paths)], stdout=subprocess.DEVNULL, check=True)
    )
    openssl = None
    if shutil.which("openssl"):
        cmd = ["openssl", "dgst", "-sha256", *map(str, paths)]
        openssl = best_of(3, lambda: subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True))
    ours = best_of(3, lambda: hash_files(paths, None))
    single = best_of(3, lambda: [hash_file(p) for p in paths])
    print(
        f"\n1. hashing {len(paths)} files, {total / MB:.0f} MB (page cache warm, best of 3), {os.cpu_count()} CPUs"
    )
    print(f"   sha256sum (one process)         {total / MB / sha256sum:8.0f} MB/s  ({sha256sum:.2f} s)")
    if openssl:
        print(f"   openssl dgst -sha256 (one proc.) {total / MB / openssl:8.0f} MB/s  ({openssl:.2f} s)")
    print(
        f"   packer hash_files (thread pool) {total / MB / ours:8.0f} MB/s  ({ours:.2f} s)  ratio {sha256sum / ours:.2f}"
    )
    print(
        f"   packer hash_file, one thread    {total / MB / single:8.0f} MB/s  ({single:.2f} s)  ratio {sha256sum / single:.2f}"
    )
    shutil.rmtree(base / "hash")


class Counter:
    def __init__(self) -> None:
        self.requests = 0
        self.body_bytes = 0
        self.header_bytes = 0
        self.upload_body_bytes = 0


def make_server_app(shaman: Shaman, storage: Path, counter: Counter) -> web.Application:
    @web.middleware
    async def count(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        response = await handler(request)
        counter.requests += 1
        counter.header_bytes += len(f"{request.method} {request.path_qs} HTTP/1.1\r\n") + 2
        counter.header_bytes += sum(len(k) + len(v) + 4 for k, v in request.raw_headers)
        counter.body_bytes += request.content.total_bytes
        if request.path.startswith("/api/v3/shaman/files/"):
            counter.upload_body_bytes += request.content.total_bytes
        return response

    async def shared_storage(request: web.Request) -> web.Response:
        return web.json_response(
            {"location": str(storage), "audience": "users", "platform": "linux", "shamanEnabled": True}
        )

    app = web.Application(middlewares=[count])
    app.router.add_get("/api/v3/configuration/shared-storage/{audience}/{platform}", shared_storage)
    add_shaman_routes(app, lambda: shaman)
    return app


async def bench_resubmit(base: Path, scale: float) -> None:
    storage = base / "storage"
    shaman = Shaman(ShamanConfig(shared_storage=storage))
    counter = Counter()
    runner = web.AppRunner(make_server_app(shaman, storage, counter))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        project = base / "project"
        files = write_random_files(project / "textures", 99, int(5 * MB * scale))
        blend = project / "scene.blend"
        blend.write_bytes(os.urandom(int(5 * MB * scale)))
        total = sum(p.stat().st_size for p in files) + blend.stat().st_size
        request = PackRequest(f"http://127.0.0.1:{port}", blend, files, "bench", cache_dir=base / "cache")

        start = time.perf_counter()
        first = await pack_job(request)
        first_time = time.perf_counter() - start
        first_bytes = counter.body_bytes + counter.header_bytes

        files[42].write_bytes(os.urandom(int(5 * MB * scale)))
        changed = files[42].stat().st_size
        for attr in ("requests", "body_bytes", "header_bytes", "upload_body_bytes"):
            setattr(counter, attr, 0)
        start = time.perf_counter()
        second = await pack_job(request)
        second_time = time.perf_counter() - start
        sent = counter.body_bytes + counter.header_bytes
        print(
            f"\n2. re-submitting a {total / MB:.0f} MB project ({len(files) + 1} files) after one {changed / MB:.0f} MB file changed"
        )
        print(
            f"   first submit:  {first_bytes / MB:9.3f} MB received by the server in {first_time:.2f} s, {first.files_uploaded} files uploaded"
        )
        print(
            f"   re-submit:     {sent / MB:9.3f} MB received by the server in {second_time:.2f} s over {counter.requests} requests"
        )
        print(f"                  = {counter.upload_body_bytes} upload body bytes (changed file: {changed})")
        print(
            f"                  + {sent - counter.upload_body_bytes} bytes of requests/headers/JSON overhead"
        )
        print(
            f"   files re-hashed on re-submit: {second.files_hashed}; checkout: {second.checkout_id} ({second.link_mode})"
        )
    finally:
        await runner.cleanup()
        shutil.rmtree(base / "project", ignore_errors=True)
        shutil.rmtree(storage, ignore_errors=True)


async def bench_checkout(base: Path, count: int) -> None:
    print(f"\n3. checking out {count} files (blobs already stored; best of 3)")
    floor = await asyncio.to_thread(_raw_symlinks, base / "raw", count)
    print(
        f"   floor: a bare os.symlink loop ({count} links, same target length) takes {floor:.3f} s on this disk"
    )
    for mode in (LinkMode.SYMLINK, LinkMode.HARDLINK, LinkMode.COPY):
        storage = base / f"co-{mode}"
        shaman = Shaman(ShamanConfig(shared_storage=storage, link_mode=mode))
        specs = await asyncio.to_thread(_store_small_blobs, shaman, count)
        times = []
        for attempt in range(3):
            start = time.perf_counter()
            result = await shaman.checkout(specs, f"bench-{attempt}")
            times.append(time.perf_counter() - start)
        elapsed = min(times)
        print(
            f"   {mode.value:9s} direct: {elapsed:6.3f} s  ({count / elapsed:6.0f} files/s), reported: {result.link_mode}"
        )
        if mode is LinkMode.SYMLINK:
            await _checkout_over_http(shaman, storage, specs)
        shutil.rmtree(storage)


async def _checkout_over_http(shaman: Shaman, storage: Path, specs: list[FileSpec]) -> None:
    runner = web.AppRunner(make_server_app(shaman, storage, Counter()))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/api/v3/shaman/checkout/create"
    body = {"files": [s.to_json() for s in specs], "checkoutPath": "bench-http"}
    try:
        async with aiohttp.ClientSession() as session:
            start = time.perf_counter()
            async with session.post(url, json=body) as resp:
                doc = await resp.json()
            elapsed = time.perf_counter() - start
        size = len(json.dumps(body))
        print(
            f"   symlink   HTTP:   {elapsed:6.3f} s  (POST of {size / MB:.1f} MB JSON, {resp.status}, {doc})"
        )
    finally:
        await runner.cleanup()


def _raw_symlinks(directory: Path, count: int) -> float:
    for i in range(100):
        (directory / f"d{i}").mkdir(parents=True)
    start = time.perf_counter()
    # As long as a real checkout's targets (../../../file-store/stored/<2>/<62>/<size>.blob): targets
    # over 60 bytes do not fit in an ext4 inode, so each link also allocates a data block.
    target = "../../../file-store/stored/ab/" + "c" * 62 + "/80.blob"
    for i in range(count):
        os.symlink(target, directory / f"d{i % 100}" / f"f{i}")
    elapsed = time.perf_counter() - start
    shutil.rmtree(directory)
    return elapsed


def _store_small_blobs(shaman: Shaman, count: int) -> list[FileSpec]:
    """Write blobs straight into the store layout (the upload path is measured in part 2)."""
    import hashlib

    specs = []
    for i in range(count):
        data = f"file {i}\n".encode() * 10
        key = FileKey(hashlib.sha256(data).hexdigest(), len(data))
        blob = shaman.store.blob_path(key)
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
        specs.append(FileSpec(key.sha, key.size, f"dir-{i % 100:02d}/sub-{i % 7}/file-{i:05d}.png"))
    return specs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply file sizes (0.1 for a quick run)")
    parser.add_argument("--dir", type=Path, default=None, help="where to put the temporary files")
    parser.add_argument("--checkout-files", type=int, default=10_000)
    args = parser.parse_args()
    if shutil.which("sha256sum") is None:
        sys.exit("sha256sum not found")
    base = Path(tempfile.mkdtemp(prefix="tablao-bench-", dir=args.dir))
    try:
        bench_hashing(base, args.scale)
        asyncio.run(bench_resubmit(base, args.scale))
        asyncio.run(bench_checkout(base, args.checkout_files))
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
