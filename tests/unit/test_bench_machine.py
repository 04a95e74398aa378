"""The machine record every peer benchmark writes beside its figures: the steal time of a
VM slowed by its host and the speed of a reference loop."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "bench"


def bench_common() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_common_under_test",
                                                  BENCH / "common.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module   # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_steal_is_the_share_of_steal_ticks_among_all_ticks() -> None:
    common = bench_common()
    #          user nice sys idle iowait irq softirq steal guest guest_nice
    before = [100, 0, 50, 800, 0, 0, 0, 50, 30, 0]
    after = [200, 0, 100, 900, 0, 0, 0, 150, 60, 0]
    # 100 + 50 + 100 + 100 ticks went by, 100 of them stolen; guest time (in user
    # already) is not counted twice.
    assert common.steal_percent(before, after) == 28.6
    assert common.steal_percent(before, before) == 0.0


def test_the_record_reads_this_host() -> None:
    common = bench_common()
    times = common.host_cpu_times()
    assert len(times) >= 8 and all(value >= 0 for value in times)
    record = common.MachineRecord()
    assert record.loop_start_ms > 0
    line = record.line()
    assert line.startswith("Machine speed: a reference Python loop")
    assert "steal time" in line
