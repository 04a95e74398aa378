"""The standard diagnostics body (2.48+), from what the server's agent describes."""

from __future__ import annotations

from typing import Any, Final

from ownstack.compute.objects.models import Instance

# Nova's power_state numbers -> the standard diagnostics' state names.
_STATES: Final = {0: "pending", 1: "running", 3: "paused", 4: "shutdown", 6: "crashed",
                  7: "suspended"}


def standard(instance: Instance, details: dict[str, Any]) -> dict[str, Any]:
    """What ownstack knows (state, driver, hypervisor, CPUs, memory size, disk and NIC
    counts, config drive), and ``null`` or empty lists for the usage counters it does not
    collect yet (uptime, CPU time, I/O)."""
    disks = 1 + (1 if details.get("config_drive") else 0)
    taps = details.get("taps") or []
    accel = details.get("accel")
    return {
        "state": _STATES.get(int(details.get("power_state", 0)), "pending"),
        "driver": details.get("driver"),
        "hypervisor": {"kvm": "kvm", "tcg": "qemu"}.get(str(accel), accel),
        "hypervisor_os": "linux",
        "uptime": None,
        "config_drive": bool(details.get("config_drive")),
        "num_cpus": instance.vcpus,
        "num_disks": disks,
        "num_nics": len(taps),
        "memory_details": {"maximum": instance.memory_mb, "used": None},
        "cpu_details": [],
        "disk_details": [],
        "nic_details": [{"mac_address": None, "rx_octets": None, "rx_errors": None,
                         "rx_drop": None, "rx_packets": None, "rx_rate": None,
                         "tx_octets": None, "tx_errors": None, "tx_drop": None,
                         "tx_packets": None, "tx_rate": None} for _ in taps],
    }
