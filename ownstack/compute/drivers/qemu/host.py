"""Host facts for the QEMU driver: which accelerator really works, and what the host has.

**Choosing KVM.** ``/dev/kvm`` existing, and even opening, proves little: in a nested VM it
opens, a vCPU starts, SeaBIOS prints its banner within a second, and then a guest that
switches to 64-bit long mode with paging crawls or stalls for good (on the machines this
was written on, SeaBIOS took 15-20 s instead of 0.2 s to finish, and a Linux kernel got no
further than its real-mode setup in four minutes). So the probe boots a real guest: QEMU
with ``-accel kvm`` loads a 264-byte multiboot image (:data:`PROBE_IMAGE`, source in
:data:`PROBE_SOURCE`) that enters long mode, writes 32 MiB of memory and prints
:data:`PROBE_MARKER` on the ``isa-debugcon`` port 0x402, where SeaBIOS prints its own log.
KVM works when the marker appears within ``probe_timeout`` seconds: a sound KVM needs well
under one, TCG about a quarter of one.

QEMU runs in its own process group, which is killed when the probe ends however it ends
(marker, timeout, error or cancellation), so a probe never leaves a process behind.

The verdict of the vCPU probe is cached in a JSON file keyed by the kernel's boot id and
the QEMU binary and version, and re-probed when any of them changes (delete the file to
force a new probe). Opening ``/dev/kvm`` is checked every time: it is cheap, and module
loads and permission changes do not need a reboot.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import re
import signal
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import os_traits

from ownstack.compute.drivers.base import DriverError, HostResources

__all__ = [
    "Accel",
    "ProbeResult",
    "choose_accel",
    "host_resources",
    "nova_version",
    "probe_accel",
    "qemu_version",
]

log = logging.getLogger(__name__)

KVM_DEVICE = Path("/dev/kvm")
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
MEMINFO = Path("/proc/meminfo")
CPUINFO = Path("/proc/cpuinfo")

PROBE_MARKER = b"ownstack-probe: 64-bit guest ran"
_PROBE_POLL = 0.05
_VERSION_TIMEOUT = 30.0

PROBE_SOURCE = r"""
# Multiboot (a.out kludge) image that QEMU's -kernel loads at 1 MiB and enters in 32-bit
# protected mode. It switches to long mode with paging, as every guest kernel does, writes
# 32 MiB of memory, then prints the marker to the isa-debugcon port 0x402.
# as --32 -o probe.o probe.S && ld -m elf_i386 -Ttext=0x100000 --oformat=binary -o probe.bin probe.o
        .set BASE, 0x100000
        .set FLAGS, 0x00010000          # bit 16: the header gives the load addresses
        .code32
        .globl _start
_start:
        .long 0x1BADB002, FLAGS, -(0x1BADB002 + FLAGS)
        .long _start, BASE, end, 0, entry
entry:  cli
        cld
        mov $0x70000, %edi              # PML4, PDPT, PD at 0x70000..0x72fff
        xor %eax, %eax
        mov $3072, %ecx
        rep stosl
        movl $0x71003, 0x70000
        movl $0x72003, 0x71000
        mov $0x72000, %edi
        mov $0x83, %eax                 # identity-map 1 GiB with 2 MiB pages
        mov $512, %ecx
1:      mov %eax, (%edi)
        add $0x200000, %eax
        add $8, %edi
        loop 1b
        mov %cr4, %eax
        or $0x20, %eax                  # PAE
        mov %eax, %cr4
        mov $0x70000, %eax
        mov %eax, %cr3
        mov $0xC0000080, %ecx           # EFER.LME
        rdmsr
        or $0x100, %eax
        wrmsr
        lgdt gdtr
        mov %cr0, %eax
        or $0x80000001, %eax            # PG, PE
        mov %eax, %cr0
        ljmp $0x08, $long
        .code64
long:   mov $4, %r8                     # 4 x 8 MiB at 4 MiB
2:      mov $0x400000, %rdi
        mov $0x100000, %rcx
        mov %r8, %rax
        rep stosq
        dec %r8
        jnz 2b
        lea msg(%rip), %rsi
        mov $(end - msg), %ecx
        mov $0x402, %dx
        rep outsb
3:      hlt
        jmp 3b
        .balign 8
gdt:    .quad 0, 0x00af9a000000ffff
gdtr:   .word gdtr - gdt - 1
        .long gdt
msg:    .ascii "\nownstack-probe: 64-bit guest ran\n"
end:
"""

# PROBE_SOURCE assembled by the command in its header (a test checks they agree).
PROBE_IMAGE = bytes.fromhex(
    "02b0ad1b00000100fe4f51e40000100000001000080110000000000020001000fafcbf0000070031c0b9000c"
    "0000f3abc7050000070003100700c7050010070003200700bf00200700b883000000b9000200008907050000"
    "200083c708e2f40f20e083c8200f22e0b8000007000f22d8b9800000c00f320d000100000f300f0115e00010"
    "000f20c00d010000800f22c0ea97001000080049c7c00400000048c7c70000400048c7c1000010004c89c0f3"
    "48ab49ffc875e7488d3528000000b92200000066ba0204f36ef4ebfd8d7426000000000000000000ffff0000"
    "009aaf000f00d00010000a6f776e737461636b2d70726f62653a2036342d6269742067756573742072616e0a"
)

# Traits that hold for every host this driver runs on: what the driver itself supports.
DRIVER_TRAITS = frozenset({
    "COMPUTE_IMAGE_TYPE_QCOW2",
    "COMPUTE_IMAGE_TYPE_RAW",
    "COMPUTE_NET_VIF_MODEL_VIRTIO",
})

# /proc/cpuinfo flag -> os-traits names. Nova's CPU_TRAITS_MAPPING
# (nova/virt/libvirt/utils.py) in the kernel's spelling of each flag.
CPU_FLAG_TRAITS: dict[str, tuple[str, ...]] = {
    "3dnow": ("HW_CPU_X86_3DNOW",),
    "abm": ("HW_CPU_X86_ABM",),
    "aes": ("HW_CPU_X86_AESNI",),
    "avx": ("HW_CPU_X86_AVX",),
    "avx2": ("HW_CPU_X86_AVX2",),
    "avx512bw": ("HW_CPU_X86_AVX512BW",),
    "avx512cd": ("HW_CPU_X86_AVX512CD",),
    "avx512dq": ("HW_CPU_X86_AVX512DQ",),
    "avx512er": ("HW_CPU_X86_AVX512ER",),
    "avx512f": ("HW_CPU_X86_AVX512F",),
    "avx512pf": ("HW_CPU_X86_AVX512PF",),
    "avx512vl": ("HW_CPU_X86_AVX512VL",),
    "avx512_vnni": ("HW_CPU_X86_AVX512VNNI",),
    "avx512vbmi": ("HW_CPU_X86_AVX512VBMI",),
    "avx512ifma": ("HW_CPU_X86_AVX512IFMA",),
    "avx512_vbmi2": ("HW_CPU_X86_AVX512VBMI2",),
    "avx512_bitalg": ("HW_CPU_X86_AVX512BITALG",),
    "vaes": ("HW_CPU_X86_AVX512VAES",),
    "gfni": ("HW_CPU_X86_AVX512GFNI",),
    "vpclmulqdq": ("HW_CPU_X86_AVX512VPCLMULQDQ",),
    "avx512_vpopcntdq": ("HW_CPU_X86_AVX512VPOPCNTDQ",),
    "bmi1": ("HW_CPU_X86_BMI",),
    "bmi2": ("HW_CPU_X86_BMI2",),
    "pclmulqdq": ("HW_CPU_X86_CLMUL",),
    "f16c": ("HW_CPU_X86_F16C",),
    "fma": ("HW_CPU_X86_FMA3",),
    "fma4": ("HW_CPU_X86_FMA4",),
    "mmx": ("HW_CPU_X86_MMX",),
    "mpx": ("HW_CPU_X86_MPX",),
    "sha_ni": ("HW_CPU_X86_SHA",),
    "sse": ("HW_CPU_X86_SSE",),
    "sse2": ("HW_CPU_X86_SSE2",),
    "pni": ("HW_CPU_X86_SSE3",),
    "sse4_1": ("HW_CPU_X86_SSE41",),
    "sse4_2": ("HW_CPU_X86_SSE42",),
    "sse4a": ("HW_CPU_X86_SSE4A",),
    "ssse3": ("HW_CPU_X86_SSSE3",),
    "svm": ("HW_CPU_X86_SVM", "HW_CPU_X86_AMD_SVM"),
    "tbm": ("HW_CPU_X86_TBM",),
    "vmx": ("HW_CPU_X86_VMX", "HW_CPU_X86_INTEL_VMX"),
    "xop": ("HW_CPU_X86_XOP",),
}


class Accel(StrEnum):
    KVM = "kvm"
    TCG = "tcg"


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """One probe guest's run: did it print :data:`PROBE_MARKER`, and if not, why not."""

    accel: Accel
    works: bool
    reason: str               # why not, for the log; "" when it works
    seconds: float
    output: bytes             # everything written to port 0x402: SeaBIOS's log, the marker


# --- versions -----------------------------------------------------------------------------


@functools.cache
def qemu_version(qemu_binary: str) -> tuple[int, int, int]:
    """``qemu_binary --version`` as (major, minor, micro); cached for the process's life.

    Blocking: call it through :func:`asyncio.to_thread` from async code. Raises
    :class:`DriverError` when the binary does not run or prints no version.
    """
    try:
        result = subprocess.run([qemu_binary, "--version"], capture_output=True, text=True,
                                timeout=_VERSION_TIMEOUT, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DriverError(f"cannot run {qemu_binary} --version: {exc}") from exc
    match = re.search(r"version (\d+)\.(\d+)(?:\.(\d+))?", result.stdout)
    if result.returncode != 0 or match is None:
        raise DriverError(f"{qemu_binary} --version printed no version "
                          f"(exit status {result.returncode}): {result.stdout.strip()[:200]}")
    return int(match[1]), int(match[2]), int(match[3] or 0)


def nova_version(version: tuple[int, int, int]) -> int:
    """Nova's integer encoding of a version: 7.2.22 -> 7002022."""
    major, minor, micro = version
    return major * 1_000_000 + minor * 1_000 + micro


# --- the accelerator ----------------------------------------------------------------------


Prober = Callable[[str, float], Awaitable[ProbeResult]]


async def probe_kvm(qemu_binary: str, timeout: float) -> ProbeResult:
    """The probe :func:`choose_accel` runs: the probe guest under KVM."""
    return await probe_accel(Accel.KVM, qemu_binary, timeout=timeout)


async def choose_accel(virt_type: str, qemu_binary: str, *, cache_path: Path | None,
                       probe_timeout: float = 5.0, kvm_device: Path = KVM_DEVICE,
                       probe: Prober = probe_kvm) -> Accel:
    """virt_type "qemu" -> TCG; "kvm" -> KVM, or DriverError if the probe fails (the operator
    insisted); "auto" -> probe, KVM if it truly works, else TCG (logged at WARNING with why).

    ``cache_path`` (``None``: no cache) holds the last probe's verdict, see the module
    docstring. ``kvm_device`` and ``probe`` are for tests, which stand in for a KVM that
    works or hangs whatever this machine's does. An unknown ``virt_type`` and a QEMU that
    does not run raise :class:`DriverError`.
    """
    if virt_type == "qemu":
        return Accel.TCG
    if virt_type not in ("kvm", "auto"):
        raise DriverError(f"unknown virt_type {virt_type!r}: expected auto, kvm or qemu")
    works, reason = await _kvm_verdict(qemu_binary, cache_path, probe_timeout, kvm_device,
                                       probe)
    if works:
        return Accel.KVM
    if virt_type == "kvm":
        raise DriverError(f"virt_type is kvm but KVM is not usable on this host: {reason}")
    log.warning("KVM is not usable, so guests run under TCG, many times slower: %s%s",
                reason, f" (verdict cached in {cache_path})" if cache_path else "")
    return Accel.TCG


async def _kvm_verdict(qemu_binary: str, cache_path: Path | None, probe_timeout: float,
                       kvm_device: Path, probe: Prober) -> tuple[bool, str]:
    problem = await asyncio.to_thread(_kvm_device_problem, kvm_device)
    if problem:
        return False, problem
    version = await asyncio.to_thread(qemu_version, qemu_binary)
    key = {"boot_id": await asyncio.to_thread(_boot_id), "qemu_binary": qemu_binary,
           "qemu_version": ".".join(map(str, version))}
    if cache_path is not None:
        cached = await asyncio.to_thread(_read_cache, cache_path, key)
        if cached is not None:
            return cached
    result = await probe(qemu_binary, probe_timeout)
    if cache_path is not None:
        await asyncio.to_thread(_write_cache, cache_path, {
            **key, "kvm_works": result.works, "reason": result.reason,
            "seconds": round(result.seconds, 3), "probed_at": time.time()})
    return result.works, result.reason


def _kvm_device_problem(device: Path) -> str:
    """Why ``device`` cannot be used for KVM, or "" when it opens read-write."""
    try:
        fd = os.open(device, os.O_RDWR | os.O_CLOEXEC)
    except OSError as exc:
        return f"{device} cannot be opened read-write: {exc.strerror}"
    os.close(fd)
    return ""


def _boot_id() -> str:
    return BOOT_ID.read_text().strip()


def _read_cache(path: Path, key: dict[str, str]) -> tuple[bool, str] | None:
    try:
        record = json.loads(path.read_text())
        if all(record.get(name) == value for name, value in key.items()):
            return bool(record["kvm_works"]), str(record["reason"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass              # missing, unreadable or from another format: probe again
    return None


def _write_cache(path: Path, record: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as out:
            json.dump(record, out, indent=1)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


async def probe_accel(accel: Accel, qemu_binary: str, *, timeout: float,
                      image: bytes = PROBE_IMAGE) -> ProbeResult:
    """Boot the probe guest (``image``) under ``accel`` and wait up to ``timeout`` s for
    its marker.

    Postcondition, however this returns or is cancelled: the QEMU process and its process
    group are killed and reaped, and the probe's temporary directory is gone.
    """
    loop = asyncio.get_running_loop()
    started = loop.time()
    with tempfile.TemporaryDirectory(prefix="ownstack-accel-probe-") as tmp:
        image_file, debug_log, stderr_log = (Path(tmp) / n for n in (
            "probe.bin", "debugcon.log", "stderr.log"))
        image_file.write_bytes(image)
        argv = [qemu_binary, "-accel", accel.value, "-machine", "pc", "-m", "16",
                "-nodefaults", "-display", "none", "-no-user-config",
                "-kernel", str(image_file),
                "-chardev", f"file,id=dbg,path={debug_log}",
                "-device", "isa-debugcon,iobase=0x402,chardev=dbg"]
        with stderr_log.open("wb") as stderr:
            try:
                proc = await asyncio.create_subprocess_exec(
                    *argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                    stderr=stderr, start_new_session=True)
            except OSError as exc:
                raise DriverError(f"cannot start {qemu_binary}: {exc}") from exc
        try:
            while True:
                output = await asyncio.to_thread(_read_bytes, debug_log)
                elapsed = loop.time() - started
                if PROBE_MARKER in output:
                    return ProbeResult(accel, True, "", elapsed, output)
                if proc.returncode is not None:
                    why = _last_line(await asyncio.to_thread(_read_bytes, stderr_log))
                    return ProbeResult(accel, False, f"QEMU -accel {accel} exited with "
                                       f"status {proc.returncode} before the probe guest "
                                       f"finished: {why}", elapsed, output)
                if elapsed >= timeout:
                    return ProbeResult(accel, False, _timeout_reason(accel, timeout, output),
                                       elapsed, output)
                await asyncio.sleep(_PROBE_POLL)
        finally:
            _kill_group(proc)
            await proc.wait()


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    # While the leader is unreaped its pid, which is the group's id, cannot be reused.
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""


def _last_line(data: bytes) -> str:
    lines = [ln.strip() for ln in data.decode(errors="replace").splitlines() if ln.strip()]
    return lines[-1][:300] if lines else "no message"


def _timeout_reason(accel: Accel, timeout: float, output: bytes) -> str:
    if b"SeaBIOS" in output:
        return (f"a 64-bit probe guest under {accel} did not finish within {timeout:g} s, "
                f"though its firmware started (a vCPU runs, but far too slowly to boot a "
                f"guest: nested virtualisation?)")
    return f"a probe guest under {accel} printed nothing within {timeout:g} s"


# --- host resources -----------------------------------------------------------------------


async def host_resources(instances_dir: Path, qemu_binary: str) -> HostResources:
    """The host's physical totals, and the os-traits names true of this host and driver.

    ``vcpus`` counts the CPUs this process (and so every QEMU it starts) may run on;
    ``disk_gb`` is the whole size in GiB, rounded down, of the filesystem holding
    ``instances_dir`` (or its nearest existing parent); CPU traits come from the
    ``flags`` of /proc/cpuinfo, mapped as Nova maps CPU features.
    """
    version = await asyncio.to_thread(qemu_version, qemu_binary)
    return await asyncio.to_thread(_host_facts, instances_dir, version)


def _host_facts(instances_dir: Path, version: tuple[int, int, int]) -> HostResources:
    return HostResources(
        vcpus=_vcpus(), memory_mb=_memory_mb(), disk_gb=_disk_gb(instances_dir),
        hypervisor_type="QEMU", hypervisor_version=nova_version(version),
        traits=DRIVER_TRAITS | cpu_traits(CPUINFO.read_text()))


def _vcpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _memory_mb() -> int:
    for line in MEMINFO.read_text().splitlines():
        name, _, value = line.partition(":")
        if name == "MemTotal":
            return int(value.split()[0]) // 1024          # kB
    raise DriverError(f"no MemTotal in {MEMINFO}")


def _disk_gb(instances_dir: Path) -> int:
    path = instances_dir.absolute()
    while not path.exists():
        path = path.parent
    stat = os.statvfs(path)
    return stat.f_frsize * stat.f_blocks // 1024**3


def cpu_traits(cpuinfo: str) -> frozenset[str]:
    """os-traits CPU names for the flags of the first CPU in ``cpuinfo`` (x86 only).

    Names the installed os-traits does not define are dropped, so an older os-traits never
    makes Placement refuse the whole trait set.
    """
    flags: set[str] = set()
    for line in cpuinfo.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "flags":
            flags = set(value.split())
            break
    known = set(os_traits.get_traits())
    return frozenset(trait for flag in flags & CPU_FLAG_TRAITS.keys()
                     for trait in CPU_FLAG_TRAITS[flag] if trait in known)
