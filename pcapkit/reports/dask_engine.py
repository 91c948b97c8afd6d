"""Scale-out export with Dask: the same tables as the local engine writes.

The packets table: one task per input file.
The tcp table: the inputs are one capture, decoded by file or byte range, analysed by
conversation and built and written by frame range on the workers
(:mod:`pcapkit.reports.partitions`); into a directory, one part file per range.
The flows / rtt tables: re-partitioned by conversation (see
:mod:`pcapkit.reports.conversations`): one task per bucket of conversations, combined
into exactly the single-process table.


``export_dask(inputs, output, ...)`` connects to ``scheduler`` (an address such as
``tcp://10.0.0.5:8786``) or starts a local cluster (nothing to set up). For the
packets table every task writes its own part files (``part-FFFFF-KKKKK.parquet``),
named exactly as the local engine names them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from pcapkit.reports.export import (
    ExportResult,
    expand_inputs,
    export_one,
    input_names,
    merged_inputs,
)


def local_client(n_workers: int = 2, processes: bool = True) -> Any:
    """A dask.distributed Client on a local cluster: worker processes by default (the
    decoding and analysis hold the GIL, so threads of one process run them one at a time
    and only add scheduling: the thread cluster took 1.9x the time of one process)."""
    import dask
    from dask.distributed import Client, LocalCluster

    environ = {**dask.config.get("distributed.nanny.pre-spawn-environ", {}), **WORKER_HEAP}
    with dask.config.set({**QUIET, "distributed.nanny.pre-spawn-environ": environ}):
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=processes,
                               dashboard_address=":0")
    client = Client(cluster)
    client.run(quiet_worker_log)
    return client


def quiet_worker_log() -> None:
    """In a worker of the local cluster: a task's error (a damaged input) is raised again in
    the driver, whose command says it in one line; the worker's own log of it, the task's
    traceback, and of the tasks cancelled after it would reach the same terminal."""
    import logging

    logging.getLogger("distributed.worker").setLevel(logging.CRITICAL)


# Dask's own bookkeeping, made rarer on the local cluster: the statistical profiler samples
# every task's stack 100 times a second and the monitors poll 2-10 times a second (idle, two
# workers and the scheduler used 0.09 CPU s per second; with these, 0.02); tasks are
# placed by the engine, so no work stealing.
QUIET = {"distributed.worker.profile.enabled": False, "distributed.admin.system-monitor.interval": "5s",
         "distributed.worker.memory.monitor-interval": "1s", "distributed.admin.tick.interval": "200ms",
         "distributed.scheduler.work-stealing": False}
# glibc's heap in the worker processes: a task makes and frees column arrays of a few MB;
# with Dask's default (heap trimmed past 64 kB) and pcapkit's fixed 1 MB mmap threshold
# (pcapkit.tcpflow.segments.heap, which leaves an environment setting alone) each is mapped,
# zeroed by the kernel and unmapped again: 0.4-0.5 system CPU s per worker for the tcp
# table of 1M segments on two workers. Kept in the heap for the next task: 0.1-0.25 s. The
# workers live on between exports, so their memory stays at its peak (the driver's and a
# single-process export's do not: a lone export gained nothing from it). One arena: a
# worker runs its tasks in a thread of its own, whose glibc arena is a chain of 64 MB heaps
# that are unmapped once empty and faulted in afresh by the next task (building and
# writing a range's table of 500,000 rows: 17-34k page faults, 0.03-0.05 system CPU s;
# in the main arena, kept by the trim threshold: 1-5k).
WORKER_HEAP = {"MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str(512 << 20),
               "MALLOC_ARENA_MAX": "1"}


def export_dask(inputs: Sequence[str], output: str, table: str = "packets",
                partition_rows: int | None = None, chunk_packets: int = 1 << 18,
                scheduler: str | None = None, client: Any = None) -> ExportResult:
    """Export every input with Dask into the directory ``output`` (part files)."""
    files = expand_inputs(inputs)
    if table == "packets" or partition_rows is not None:
        os.makedirs(output, exist_ok=True)
    own = None
    if client is None:
        if scheduler:
            from dask.distributed import Client

            from pcapkit.errors import PcapkitError

            try:
                own = client = Client(scheduler)
            except (OSError, ValueError) as exc:  # (unreachable, timed out, not an address)
                raise PcapkitError(f"{scheduler}: cannot connect to the Dask scheduler: {exc}") from exc
        else:
            own = client = local_client()
    try:
        if table != "packets":
            files, unreadable, label = merged_inputs(files, table)
            if not files:
                return ExportResult(errors=unreadable)
            res = _export_conversations(client, files, output, table, partition_rows, label)
            res.errors[:0] = unreadable
            return res
        names = input_names(files)
        futures = [client.submit(export_one, path, os.path.abspath(output), i, table, partition_rows,
                                 chunk_packets, names[i], pure=False)
                   for i, path in enumerate(files)]
        results: list[ExportResult] = client.gather(futures)
    finally:
        if own is not None:
            cluster = getattr(own, "cluster", None)
            own.close()
            if cluster is not None:
                cluster.close()
    total = ExportResult()
    for res in results:
        total.rows += res.rows
        total.files += res.files
        total.errors += res.errors
    return total


def _workers(client: Any) -> int:
    try:
        return max(1, len(client.scheduler_info().get("workers", {})))
    except Exception:
        return 1


def conversations_dask(client: Any, files: Sequence[str], table: str, buckets: int | None = None) -> Any:
    """The tcp / flows / rtt table of ``files`` as one capture, one task per conversation
    bucket (equal to :func:`pcapkit.reports.conversations.merged_report`)."""
    from pcapkit.reports.conversations import bucket_report, combine

    if table == "tcp":
        from pcapkit.reports.partitions import BUCKETS, tcp_table

        return tcp_table(client, files, buckets or BUCKETS)
    nb = buckets or 2 * _workers(client)
    futures = [client.submit(bucket_report, list(files), table, b, nb, pure=False) for b in range(nb)]
    return combine(client.gather(futures), table)


def _export_conversations(client: Any, files: Sequence[str], output: str, table: str,
                          partition_rows: int | None, label: bool) -> ExportResult:
    from pcapkit.reports.export import write_table

    if table == "tcp":
        from pcapkit.reports.partitions import export_tcp

        return export_tcp(client, files, output, partition_rows, label)
    return write_table(lambda: conversations_dask(client, files, table), output, partition_rows,
                       files if label else ())
