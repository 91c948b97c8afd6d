"""The segment stage's memory, in-process: the resident size while ``segment_table``
reads a capture (with its packet table, as ``pcapkit flows`` reads it) and while the
TCP analysis runs over it, sampled every 5 ms from /proc/self/status (Linux).

    .venv/bin/python benchmarks/bench_segment_memory.py FILE [FILE ...]

Per file: rows, the bytes a segment and a packet take in the tables, the resident size
after the imports, the peak and the resident size after each stage, and CPU seconds.
Run it under another checkout's PYTHONPATH to compare (the same file, one after the other).
"""

from __future__ import annotations

import argparse
import threading
import time


def _resident_mb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) // 1024
    return 0


class _Peak:
    """The highest resident size since the last :meth:`reset`, from a sampling thread."""

    def __init__(self) -> None:
        self.mb = 0
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while True:
            self.mb = max(self.mb, _resident_mb())
            time.sleep(0.005)

    def reset(self) -> None:
        self.mb = _resident_mb()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    from pcapkit.reports.memory import release_memory
    from pcapkit.tcpflow.analysed import analyse_table
    from pcapkit.tcpflow.segments import segment_table

    peak = _Peak()
    for path in args.files:
        release_memory()
        peak.reset()
        base = _resident_mb()
        cpu = time.process_time()
        table = segment_table(path, packets=True)
        read_cpu, read_peak, read_after = time.process_time() - cpu, peak.mb, _resident_mb()
        packets = table.packets
        assert packets is not None
        seg_bytes = sum(getattr(table, name).nbytes for name in table_columns())
        pk_bytes = sum(value.nbytes for value in vars(packets).values())
        release_memory()
        peak.reset()
        cpu = time.process_time()
        an = analyse_table(table)
        an_cpu, an_peak, an_after = time.process_time() - cpu, peak.mb, _resident_mb()
        print(f"{path}: {len(table):,} segments ({seg_bytes / max(len(table), 1):.0f} B each), "
              f"{len(packets):,} packets ({pk_bytes / max(len(packets), 1):.0f} B each); resident before {base} MB; "
              f"segment_table peak {read_peak} MB, after {read_after} MB, {read_cpu:.2f} CPU s; "
              f"analysis peak {an_peak} MB, after {an_after} MB, {an_cpu:.2f} CPU s")
        del table, an, packets


def table_columns() -> tuple[str, ...]:
    from pcapkit.tcpflow.segments import table_fields

    return table_fields()


if __name__ == "__main__":
    main()
