"""The worker's vitals: render progress from Blender's lines, the GPU and Blender readings, and the
reporter against a real Manager (which shows them) and against a stock-like one (which has no route).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.worker.blender_version import BlenderVersion, parse_version
from app.worker.client import WorkerClient, new_secret
from app.worker.commands.blender import BlenderOutputParser
from app.worker.gpu_info import GpuReader, parse_nvidia_smi, pci_name
from app.worker.vitals import MachineSampler, RenderProgress, VitalsReporter
from tests.worker.fake_manager import FakeManager

# Lines as Debian's Blender 3.4 prints them (Cycles), an EEVEE line, Blender 5's prefixed form.
CYCLES = [
    "Fra:1 Mem:9.90M (Peak 10.83M) | Time:00:00.05 | Mem:0.76M, Peak:0.76M | Scene, ViewLayer | Sample 0/8",
    "Fra:1 Mem:10.01M (Peak 10.83M) | Time:00:00.05 | Remaining:00:00.00 | Mem:0.86M, Peak:0.86M | Scene, "
    "ViewLayer | Sample 1/8",
    "Fra:1 Mem:10.06M (Peak 10.83M) | Time:00:00.05 | Mem:0.86M, Peak:0.86M | Scene, ViewLayer | Finished",
]


def test_the_parser_reads_frames_and_samples_of_cycles_and_eevee():
    parser = BlenderOutputParser()
    infos = [parser.parse(line) for line in CYCLES]
    assert (infos[0].frame, infos[0].samples) == (1, (0, 8))
    assert (infos[1].frame, infos[1].samples) == (None, (1, 8))
    assert infos[2].samples is None
    eevee = parser.parse("Fra:2 Mem:40.12M (Peak 41.00M) | Time:00:00.30 | Rendering 12 / 64 samples")
    assert (eevee.frame, eevee.samples) == (2, (12, 64))
    old = parser.parse("Fra:3 Mem:1.00M (Peak 2.00M) | Time:00:01.00 | Path Tracing Tile 3/4, Sample 16/16")
    assert (old.frame, old.samples) == (3, (16, 16))
    blender5 = parser.parse("00:01.250  render           | Fra: 4 | Mem:9.9M | Scene, ViewLayer | Sample 7/128")
    assert (blender5.frame, blender5.samples) == (4, (7, 128))
    assert parser.parse("Sample 3/4 of something else").samples is None  # only a frame's line says it


async def test_render_progress_says_a_new_frame_at_once_and_forgets_an_ended_render():
    progress = RenderProgress()
    progress.frame_started(12)
    assert progress.changed.is_set()
    progress.changed.clear()
    progress.sampled(64, 128)
    assert progress.as_json() == {"frame": 12, "sample": 64, "samples_total": 128}
    assert not progress.changed.is_set()  # samples alone do not hurry a report
    progress.frame_started(13)
    assert progress.as_json() == {"frame": 13}
    progress.changed.clear()
    progress.clear()
    assert progress.as_json() == {} and progress.changed.is_set()


def test_nvidia_smi_lines_become_gpus():
    out = "NVIDIA RTX A4000, 97, 6144, 16376\nNVIDIA GeForce GTX 1080, [N/A], [N/A], 8192\n"
    assert parse_nvidia_smi(out) == [
        {"name": "NVIDIA RTX A4000", "percent": 97.0, "memory_used": 6144 << 20, "memory_total": 16376 << 20},
        {"name": "NVIDIA GeForce GTX 1080"}]
    reader = GpuReader(run=lambda args: out, nvidia_smi="/usr/bin/nvidia-smi")
    assert [g["name"] for g in reader.read()] == ["NVIDIA RTX A4000", "NVIDIA GeForce GTX 1080"]


def _card(root: Path, name: str, vendor: str, device: str, driver: str, busy: str | None = None) -> None:
    folder = root / name / "device"
    folder.mkdir(parents=True)
    (folder / "vendor").write_text(vendor + "\n")
    (folder / "device").write_text(device + "\n")
    (root / "drivers" / driver).mkdir(parents=True, exist_ok=True)
    (folder / "driver").symlink_to(root / "drivers" / driver)
    if busy is not None:
        (folder / "gpu_busy_percent").write_text(busy + "\n")


def test_without_nvidia_smi_the_gpus_come_from_the_kernel_and_the_pci_id_list(tmp_path):
    drm = tmp_path / "drm"
    _card(drm, "card0", "0x1002", "0x73bf", "amdgpu", busy="42")
    _card(drm, "card1", "0x8086", "0x9a49", "i915")
    (drm / "card0-DP-1").mkdir()  # a connector, not a GPU
    ids = tmp_path / "pci.ids"
    ids.write_text("# comment\n1002  Advanced Micro Devices, Inc. [AMD/ATI]\n\t73bf  Navi 21 [Radeon RX 6800/6800 XT]\n"
                   "\t\t1002 0e3a  a subsystem\n1043  ASUSTeK\n")
    reader = GpuReader(nvidia_smi=None, drm_root=drm, ids_files=(ids,))
    assert reader.read() == [
        {"name": "Advanced Micro Devices, Inc. [AMD/ATI] Navi 21 [Radeon RX 6800/6800 XT]", "percent": 42.0},
        {"name": "Intel GPU (i915)"}]
    (drm / "card0" / "device" / "gpu_busy_percent").write_text("7\n")
    assert reader.read()[0]["percent"] == 7.0  # the use is read again, the names are not
    assert pci_name("0x1002", "0xffff", (ids,)) == "Advanced Micro Devices, Inc. [AMD/ATI]"
    assert GpuReader(nvidia_smi=None, drm_root=tmp_path / "none").read() == []


def _fake_blender(path: Path, version: str) -> Path:
    path.write_text(f"#!{sys.executable}\nprint('Blender {version}')\nprint('\\tbuild date: 2024-01-01')\n")
    path.chmod(0o755)
    return path


async def test_the_blender_version_is_asked_once_and_again_when_the_executable_changes(tmp_path):
    exe = _fake_blender(tmp_path / "blender", "4.2.1")
    versions = BlenderVersion(str(exe))
    assert await versions.get() == "4.2.1"
    assert await versions.get() == "4.2.1" and versions.asked == 1
    _fake_blender(exe, "4.2.10")  # an upgrade in place: another size
    assert await versions.get() == "4.2.10" and versions.asked == 2
    other = _fake_blender(tmp_path / "blender-5", "5.0.0")
    assert await versions.get(str(other)) == "5.0.0"  # the Blender the last render ran
    assert await BlenderVersion(str(tmp_path / "missing")).get() is None


@pytest.mark.skipif(not os.path.exists("/usr/bin/blender"), reason="needs Debian's blender")
async def test_the_version_of_a_real_blender_is_what_it_says():
    said = subprocess.run(["blender", "--version"], capture_output=True, text=True, timeout=60).stdout
    assert await BlenderVersion().get() == parse_version(said) and parse_version(said).count(".") >= 1


async def _signed_on(url: str) -> WorkerClient:
    client = WorkerClient(url)
    client.credentials = await client.register("vitals-test", ["misc"], new_secret())
    await client.sign_on("vitals-test", ["misc"], "test", False)
    return client


async def _wait_for(check, timeout: float = 10.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not (result := await check()):
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)
    return result


async def test_the_reporter_sends_vitals_the_manager_shows_and_a_new_frame_at_once(manager, tmp_path):
    client = await _signed_on(manager.url)
    progress = RenderProgress(blender_exe=str(_fake_blender(tmp_path / "blender", "3.6.5")))
    reporter = VitalsReporter(client, progress, BlenderVersion(), lambda: True, MachineSampler(),
                              every_s=30.0, min_gap_s=0.2)
    running = asyncio.create_task(reporter.run())
    path = f"/api/v3/worker-mgt/workers/{client.credentials.worker_id}"

    async def shown(key=None):
        _, body = await manager.request("GET", path)
        vitals = body.get("vitals")
        return vitals if vitals and (key is None or key(vitals)) else None
    try:
        first = await _wait_for(shown)
        assert first["blender_version"] == "3.6.5" and first["cpu_count"] >= 1
        assert 0 < first["memory_used"] <= first["memory_total"] and first["render_memory"] > 0
        assert "frame" not in first
        progress.frame_started(12)  # long before the next 30 s report
        progress.sampled(3, 16)
        framed = await _wait_for(lambda: shown(lambda v: v.get("frame") == 12), timeout=3)
        assert (framed["sample"], framed["samples_total"]) == (3, 16)
        assert "cpu_percent" in framed  # the second reading has an interval to measure over
    finally:
        running.cancel()
        await client.close()


async def test_against_a_manager_without_the_route_the_reporter_holds_off(fake_manager: FakeManager):
    client = WorkerClient(fake_manager.url)
    client.credentials = await client.register("stock", ["misc"], new_secret())
    progress = RenderProgress()
    reporter = VitalsReporter(client, progress, BlenderVersion("/nonexistent"), lambda: True, MachineSampler(),
                              every_s=0.05, min_gap_s=0.01)
    running = asyncio.create_task(reporter.run())
    try:
        await asyncio.sleep(0.6)
        progress.frame_started(3)
        await asyncio.sleep(0.3)
    finally:
        running.cancel()
        await client.close()
    tried = [path for _, path in fake_manager.calls if path.endswith("/vitals")]
    assert len(tried) == 1 and reporter.sent == 0  # asked once, then not for minutes
