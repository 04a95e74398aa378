"""The KVM probe and the host facts, run for real against this machine's QEMU.

These machines are themselves VMs, and their KVM differs from one to the next: on some,
``/dev/kvm`` opens, a KVM vCPU starts and SeaBIOS prints its banner at once, but a guest in
64-bit long mode crawls (a Linux kernel prints nothing for minutes); on others KVM works.
So the tests of the choice stand in for the KVM probe with the same probe run under TCG,
which works everywhere: the real probe image for a KVM that works, and an image whose
entry is a ``jmp $`` for the nested-KVM hang (the firmware starts, the guest never
finishes). One test runs the real KVM probe and checks that the choice agrees with it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shlex
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import os_traits
import pytest

from ownstack.compute.drivers.base import DriverError
from ownstack.compute.drivers.qemu import host
from ownstack.compute.drivers.qemu.host import (
    CPU_FLAG_TRAITS,
    DRIVER_TRAITS,
    PROBE_IMAGE,
    PROBE_MARKER,
    PROBE_SOURCE,
    Accel,
    choose_accel,
    cpu_traits,
    host_resources,
    nova_version,
    probe_accel,
    qemu_version,
)

QEMU = "qemu-system-x86_64"
TIMEOUT = 3.0                 # the probe's timeout in these tests; a sound KVM needs < 1 s
MARGIN = 3.0                  # QEMU start-up and teardown on a loaded machine
# The probe image with its entry (offset 0x20, after the multiboot header) made a `jmp $`.
HANGING_IMAGE = PROBE_IMAGE[:0x20] + b"\xeb\xfe" + PROBE_IMAGE[0x22:]


async def kvm_hangs(qemu_binary: str, timeout: float) -> host.ProbeResult:
    """The nested-KVM hang, on any machine: firmware runs, the guest never finishes."""
    return await probe_accel(Accel.TCG, qemu_binary, timeout=timeout, image=HANGING_IMAGE)


async def kvm_works(qemu_binary: str, timeout: float) -> host.ProbeResult:
    """A KVM that works, on any machine: the probe guest runs to its marker."""
    return await probe_accel(Accel.TCG, qemu_binary, timeout=timeout)


def qemu_children() -> list[int]:
    """Processes this test process started that are still there (zombies included)."""
    mine = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == os.getpid() and "qemu" in stat[:stat.rindex(")")]:
            mine.append(int(entry.name))
    return mine


def boot_id() -> str:
    return Path("/proc/sys/kernel/random/boot_id").read_text().strip()


@pytest.fixture(autouse=True)
def no_leftover_qemu() -> Iterator[None]:
    yield
    assert qemu_children() == [], "a probe left a QEMU process behind"


def test_probe_source_assembles_to_probe_image(tmp_path: Path) -> None:
    # binutils comes with gcc, which tools/install-system-deps.sh installs.
    assert shutil.which("as") and shutil.which("ld"), "binutils (as, ld) is missing"
    (tmp_path / "probe.S").write_text(PROBE_SOURCE)
    command = PROBE_SOURCE.split("\n# ", 4)[4].splitlines()[0]
    assert command.startswith("as --32")
    for step in command.split(" && "):
        subprocess.run(shlex.split(step), check=True, cwd=tmp_path)
    assert (tmp_path / "probe.bin").read_bytes() == PROBE_IMAGE


async def test_the_tcg_probe_guest_runs_firmware_and_64_bit_code() -> None:
    result = await probe_accel(Accel.TCG, QEMU, timeout=30)
    assert result.works, result.reason
    assert result.output.startswith(b"SeaBIOS (version")
    assert PROBE_MARKER in result.output
    assert result.output.index(b"SeaBIOS") < result.output.index(PROBE_MARKER)


def test_the_hanging_image_differs_from_the_probe_only_at_its_entry() -> None:
    assert PROBE_IMAGE[0x20:0x22] == b"\xfa\xfc"           # cli; cld: the entry
    assert len(HANGING_IMAGE) == len(PROBE_IMAGE)


async def test_auto_falls_back_to_tcg_within_the_timeout_when_kvm_hangs(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger=host.__name__)
    started = time.monotonic()
    assert await choose_accel("auto", QEMU, cache_path=None, probe_timeout=TIMEOUT,
                              probe=kvm_hangs) is Accel.TCG
    assert time.monotonic() - started < TIMEOUT + MARGIN
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    # The vCPU did start: this is the nested-KVM hang, not a missing device.
    assert "firmware started" in record.getMessage()


async def test_kvm_insisted_on_where_it_hangs_is_an_error() -> None:
    with pytest.raises(DriverError, match="virt_type is kvm but KVM is not usable"):
        await choose_accel("kvm", QEMU, cache_path=None, probe_timeout=TIMEOUT,
                           probe=kvm_hangs)


async def test_auto_and_kvm_choose_kvm_where_the_probe_guest_runs() -> None:
    for virt_type in ("auto", "kvm"):
        assert await choose_accel(virt_type, QEMU, cache_path=None, probe_timeout=30,
                                  probe=kvm_works) is Accel.KVM


async def test_the_choice_follows_this_machines_real_kvm_probe(tmp_path: Path) -> None:
    cache = tmp_path / "accel.json"
    chosen = await choose_accel("auto", QEMU, cache_path=cache, probe_timeout=10)
    verdict = json.loads(cache.read_text())
    assert chosen is (Accel.KVM if verdict["kvm_works"] else Accel.TCG)
    assert bool(verdict["reason"]) is not verdict["kvm_works"]


async def test_qemu_means_tcg_without_probing() -> None:
    started = time.monotonic()
    assert await choose_accel("qemu", QEMU, cache_path=None) is Accel.TCG
    assert time.monotonic() - started < 0.5


async def test_unknown_virt_type() -> None:
    with pytest.raises(DriverError, match="unknown virt_type"):
        await choose_accel("xen", QEMU, cache_path=None)


async def test_no_kvm_device(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    missing = tmp_path / "kvm"
    started = time.monotonic()
    assert await choose_accel("auto", QEMU, cache_path=None, kvm_device=missing) is Accel.TCG
    assert time.monotonic() - started < 1.0
    assert "cannot be opened read-write" in caplog.text
    with pytest.raises(DriverError, match="cannot be opened read-write"):
        await choose_accel("kvm", QEMU, cache_path=None, kvm_device=missing)


async def test_the_verdict_is_cached_per_boot_and_qemu_version(tmp_path: Path) -> None:
    cache = tmp_path / "state" / "accel.json"
    assert await choose_accel("auto", QEMU, cache_path=cache, probe_timeout=TIMEOUT,
                              probe=kvm_hangs) is Accel.TCG
    record = json.loads(cache.read_text())
    assert record["boot_id"] == boot_id()
    assert record["qemu_version"] == ".".join(map(str, qemu_version(QEMU)))
    assert record["kvm_works"] is False and record["reason"]

    started = time.monotonic()
    assert await choose_accel("auto", QEMU, cache_path=cache, probe_timeout=TIMEOUT,
                              probe=kvm_hangs) is Accel.TCG
    assert time.monotonic() - started < 1.0             # answered from the cache
    assert json.loads(cache.read_text())["probed_at"] == record["probed_at"]

    # A verdict is only believed for its own boot and QEMU: a stale "works" is re-probed.
    for stale in ({"boot_id": "another-boot"}, {"qemu_version": "1.0.0"}):
        cache.write_text(json.dumps({**record, "kvm_works": True, "reason": "", **stale}))
        assert await choose_accel("auto", QEMU, cache_path=cache, probe_timeout=TIMEOUT,
                                  probe=kvm_hangs) is Accel.TCG
        assert json.loads(cache.read_text())["probed_at"] > record["probed_at"]

    # And a current one is believed without a probe.
    cache.write_text(json.dumps({**record, "kvm_works": True, "reason": ""}))
    started = time.monotonic()
    assert await choose_accel("kvm", QEMU, cache_path=cache) is Accel.KVM
    assert time.monotonic() - started < 1.0


async def test_a_corrupt_cache_means_a_new_probe(tmp_path: Path) -> None:
    cache = tmp_path / "accel.json"
    cache.write_text("{not json")
    assert await choose_accel("auto", QEMU, cache_path=cache, probe_timeout=TIMEOUT,
                              probe=kvm_hangs) is Accel.TCG
    assert json.loads(cache.read_text())["kvm_works"] is False


async def test_cancelling_a_probe_kills_qemu() -> None:
    task = asyncio.create_task(choose_accel("kvm", QEMU, cache_path=None, probe_timeout=60,
                                            probe=kvm_hangs))
    deadline = time.monotonic() + 10
    while not qemu_children():
        assert time.monotonic() < deadline, "the probe never started QEMU"
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # no_leftover_qemu checks that nothing is left, reaped or not.


async def test_a_qemu_that_fails_at_once_is_reported(tmp_path: Path) -> None:
    result = await probe_accel(Accel.KVM, "/bin/false", timeout=30)
    assert not result.works
    assert "exited with status 1" in result.reason
    with pytest.raises(DriverError, match="cannot start"):
        await probe_accel(Accel.TCG, str(tmp_path / "no-qemu"), timeout=1)


def test_qemu_version() -> None:
    version = qemu_version(QEMU)
    printed = subprocess.run([QEMU, "--version"], capture_output=True, text=True).stdout
    assert f"version {version[0]}.{version[1]}." in printed
    assert version >= (6, 0, 0)
    with pytest.raises(DriverError):
        qemu_version("/nonexistent/qemu")
    with pytest.raises(DriverError, match="printed no version"):
        qemu_version("/bin/true")


def test_nova_version_encoding() -> None:
    assert nova_version((7, 2, 22)) == 7002022
    assert nova_version((8, 2, 1)) == 8002001
    assert nova_version((10, 0, 0)) == 10000000


async def test_host_resources_are_this_hosts(tmp_path: Path) -> None:
    resources = await host_resources(tmp_path / "instances" / "not-made-yet", QEMU)
    assert resources.vcpus == len(os.sched_getaffinity(0))
    physical_mb = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2**20
    assert abs(resources.memory_mb - physical_mb) <= 1
    assert resources.disk_gb == shutil.disk_usage(tmp_path).total // 2**30
    assert resources.hypervisor_type == "QEMU"
    assert resources.hypervisor_version == nova_version(qemu_version(QEMU))

    assert resources.traits <= set(os_traits.get_traits())
    assert resources.traits >= DRIVER_TRAITS
    assert "COMPUTE_STATUS_DISABLED" not in resources.traits
    flags = set(next(line for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("flags")).split(":")[1].split())
    for flag, traits in CPU_FLAG_TRAITS.items():
        assert (flag in flags) == (set(traits) <= resources.traits), flag
    if "sse4_2" in flags:
        assert "HW_CPU_X86_SSE42" in resources.traits


def test_every_trait_name_exists_in_os_traits() -> None:
    known = set(os_traits.get_traits())
    assert known >= DRIVER_TRAITS
    named = {trait for traits in CPU_FLAG_TRAITS.values() for trait in traits}
    assert named <= known, named - known


def test_cpu_traits_use_the_kernels_flag_names() -> None:
    cpuinfo = ("processor\t: 0\nflags\t\t: fpu sse sse2 pni ssse3 sse4_1 sse4_2 vmx "
               "avx512_vnni sha_ni pclmulqdq made_up\n\nprocessor\t: 1\nflags\t\t: avx\n")
    assert cpu_traits(cpuinfo) == {
        "HW_CPU_X86_SSE", "HW_CPU_X86_SSE2", "HW_CPU_X86_SSE3", "HW_CPU_X86_SSSE3",
        "HW_CPU_X86_SSE41", "HW_CPU_X86_SSE42", "HW_CPU_X86_VMX", "HW_CPU_X86_INTEL_VMX",
        "HW_CPU_X86_AVX512VNNI", "HW_CPU_X86_SHA", "HW_CPU_X86_CLMUL"}
    assert cpu_traits("processor\t: 0\nFeatures\t: fp asimd\n") == frozenset()
