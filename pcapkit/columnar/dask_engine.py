"""Scale-out export with Dask: one task per input file, the same part files as local.

``export_dask(inputs, output, ...)`` connects to ``scheduler`` (an address such as
``tcp://10.0.0.5:8786``) or starts a local cluster (nothing to set up), submits
:func:`pcapkit.columnar.export.export_one` for every input file and waits. Every task
writes its own part files (``part-FFFFF-KKKKK.parquet``), named exactly as the local
engine names them, so the dataset is identical whichever engine made it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from pcapkit.columnar.export import ExportResult, expand_inputs, export_one


def local_client(n_workers: int = 2, processes: bool = False) -> Any:
    """A dask.distributed Client on a local cluster."""
    from dask.distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=processes,
                           dashboard_address=None)
    return Client(cluster)


def export_dask(inputs: Sequence[str], output: str, table: str = "packets",
                partition_rows: int | None = None, chunk_packets: int = 1 << 18,
                scheduler: str | None = None, client: Any = None) -> ExportResult:
    """Export every input with Dask into the directory ``output`` (part files)."""
    files = expand_inputs(inputs)
    os.makedirs(output, exist_ok=True)
    own = None
    if client is None:
        if scheduler:
            from dask.distributed import Client

            own = client = Client(scheduler)
        else:
            own = client = local_client()
    try:
        futures = [client.submit(export_one, path, os.path.abspath(output), i, table, partition_rows,
                                 chunk_packets, True, pure=False)
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
