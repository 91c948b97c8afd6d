"""A batch of records located in one chunk of a capture file, as columns (what
:func:`pcapkit.capture.batch.iter_records` gives; here so that the walks of each format
can build it without importing each other)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

NO_TIME = np.iinfo(np.int64).min  # becomes NaT: the record has no timestamp


@dataclass(slots=True)
class RecordBatch:
    """Records located in one chunk. ``data_off`` indexes ``buf``."""

    buf: np.ndarray            # uint8, the chunk
    data_off: np.ndarray       # int64, start of each record's captured bytes in buf
    caplen: np.ndarray         # int64
    wirelen: np.ndarray        # int64
    ts_ns: np.ndarray          # int64 ns since the epoch
    linktype: np.ndarray       # int32 LINKTYPE_* per record
    interface_id: np.ndarray   # int32 (pcapng interface index; 0 for pcap)
    first_number: int          # frame.number of the first record (1-based)
    end_offset: int = 0        # bytes of the (decompressed) file consumed after this batch
    pcapng: bool = False       # records come from a pcapng file (frame.interface_id exists)
    snaplen: int = 0           # the pcap file header's snapshot length (0: none, or pcapng)
    decoded: Any = None        # what iter_records' ``decoder`` made of the records while walking them

    def __len__(self) -> int:
        return int(self.data_off.shape[0])

    def select(self, rows: np.ndarray) -> RecordBatch:
        """The records ``rows`` as a batch of their own (the same buffer; not ``decoded``)."""
        return RecordBatch(self.buf, self.data_off[rows], self.caplen[rows], self.wirelen[rows], self.ts_ns[rows],
                           self.linktype[rows], self.interface_id[rows], self.first_number, self.end_offset,
                           self.pcapng, self.snaplen)
