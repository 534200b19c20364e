"""What a worker tells its Manager at sign-on (`app.worker.facts`) and the `gpu_backends` setting."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from app.worker import facts
from app.worker.config import ConfigError, WorkerConfig
from app.worker.gpu_info import GpuReader


@pytest.mark.parametrize(("gpus", "platform", "backends"), [
    ([{"name": "NVIDIA GeForce RTX 4090"}], "linux", ["CUDA", "OPTIX"]),
    ([{"name": "NVIDIA Corporation GA104GL [RTX A4000]"}], "linux", ["CUDA", "OPTIX"]),
    ([{"name": "Advanced Micro Devices, Inc. [AMD/ATI] Navi 31 [Radeon RX 7900 XTX]"}], "linux", ["HIP"]),
    ([{"name": "Intel Corporation DG2 [Arc A770]"}], "linux", ["ONEAPI"]),
    ([{"name": "Intel Corporation Alder Lake-P GT2 [Iris Xe Graphics]"}], "linux", []),  # a laptop's
    ([{"name": "Virtio GPU (virtio-pci)"}, {"name": "ASPEED Graphics Family"}], "linux", []),
    ([], "darwin", ["METAL"]),
    ([{"name": "NVIDIA A100"}, {"name": "AMD Radeon Pro W7900"}], "linux", ["CUDA", "OPTIX", "HIP"]),
])
def test_backends_follow_from_the_gpus(gpus, platform, backends) -> None:
    assert facts.backends_for(gpus, platform) == backends


class _Reader(GpuReader):
    def __init__(self, gpus=None, fails: bool = False):
        super().__init__(nvidia_smi=None)
        self.gpus, self.fails = gpus or [], fails

    def read(self):
        if self.fails:
            raise OSError("no /sys")
        return self.gpus


def test_unreadable_gpus_are_unknown_not_none() -> None:
    assert facts.read_backends(_Reader(), "linux") == []  # Linux reads its GPUs: none found is none
    assert facts.read_backends(_Reader(), "win32") is None  # Windows without nvidia-smi: cannot tell
    assert facts.read_backends(_Reader([{"name": "NVIDIA RTX 3060"}]), "win32") == ["CUDA", "OPTIX"]
    assert facts.read_backends(_Reader(fails=True), "linux") is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads this Linux machine")
async def test_this_machine_signs_on_with_its_memory_and_blender(tmp_path: Path) -> None:
    fake = tmp_path / "blender"
    fake.write_text("#!/bin/sh\necho 'Blender 4.2.3 LTS'\n")
    fake.chmod(0o755)
    said = await facts.gather(None, str(fake))
    assert said.blender_version == "4.2.3"
    assert said.memory_total is not None and said.memory_total > 2**28
    assert isinstance(said.gpu_backends, list)
    told = await facts.gather(["optix", "CUDA"], str(tmp_path / "no-blender"))
    assert told.gpu_backends == ["OPTIX", "CUDA"] and told.blender_version is None


@pytest.mark.parametrize(("value", "backends"), [
    (["OPTIX", "cuda"], ["OPTIX", "CUDA"]), ("HIP", ["HIP"]), ("none", []), ([], []), (False, []),
])
def test_the_gpu_backends_setting(tmp_path: Path, value, backends) -> None:
    import yaml

    path = tmp_path / "w.yaml"
    path.write_text(yaml.safe_dump({"gpu_backends": value}))
    assert WorkerConfig.load(path).gpu_backends == backends
    assert WorkerConfig.load(tmp_path / "w.yaml", gpu_backends=None).gpu_backends == backends
    assert WorkerConfig().gpu_backends is None


@pytest.mark.parametrize("value", [["VULKAN"], 3, {"cuda": True}])
def test_a_gpu_backends_setting_that_is_not_one_says_so(tmp_path: Path, value) -> None:
    import yaml

    path = tmp_path / "w.yaml"
    path.write_text(yaml.safe_dump({"gpu_backends": value}))
    with pytest.raises(ConfigError, match="gpu_backends.*a list of GPU backends \\(CUDA, OPTIX, HIP, METAL, ONEAPI\\)"):
        WorkerConfig.load(path)
