"""Training sequences read by Petastorm over the LIVE files of gold.training_sequences.

Rows have different lengths; Petastorm's batching needs one width, so each row group's list
columns are right-padded to the longest row of the files (``SequenceFiles.width``) as they are
read (a TransformSpec), and every batch is trimmed back to its own longest row.

Guards against Petastorm's silent short reads (docs/stack.md: with the default thread pool an
epoch sometimes reads 0 rows): the reader pool is "dummy" (reads in the calling thread, never
lost a row in 40/40 runs), and every epoch's row count is checked against what the table's files
hold; a mismatch fails the epoch loudly instead of training on partial data.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pyarrow.filesystem
import torch
import torch.distributed as dist
from petastorm import make_batch_reader
from petastorm.pytorch import BatchedDataLoader
from petastorm.transform import TransformSpec
from upath import UPath

from models.batch import (
    LIST_COLUMNS,
    SEQUENCE_COLUMNS,
    Batch,
    batch_from_columns,
    pad_object_column,
)
from warehouse.lake import TableNotReady, live_files, open_table, read_files
from warehouse.settings import Settings
from warehouse.storage import as_url
from warehouse.tables import GOLD_SEQUENCES

# petastorm 0.13 drives pyarrow's legacy API, which warns on every call; other warnings still show.
warnings.filterwarnings("ignore", category=FutureWarning, module=r"petastorm\..*")
warnings.filterwarnings("ignore", category=FutureWarning, module=r"pyarrow\..*")


class ShortRead(RuntimeError):
    """An epoch read a different number of rows than the table holds."""


@dataclass(frozen=True)
class SequenceFiles:
    """The live files of the sequences for ds in [first, last]: how many rows and targets they
    hold, and their longest row."""

    urls: list[str]
    rows: int
    targets: int
    width: int

    @classmethod
    def of(cls, settings: Settings, first: date | None, last: date | None) -> SequenceFiles:
        files = live_files(open_table(settings, GOLD_SEQUENCES), (first, last))
        if not files:
            raise TableNotReady(f"{GOLD_SEQUENCES} has no rows for ds in [{first}, {last}]")
        sizes = read_files(files, columns=["num_context", "num_targets"])
        lengths = pc.add(sizes["num_context"], sizes["num_targets"])
        return cls(
            [as_url(f) for f in files],
            sizes.num_rows,
            pc.sum(sizes["num_targets"]).as_py() or 0,
            pc.max(lengths).as_py() or 0,
        )


def petastorm_filesystem(urls: list[str]) -> pyarrow.filesystem.FileSystem | None:
    """What Petastorm reads remote files through: their fsspec filesystem in pyarrow's legacy
    wrapper (Petastorm 0.13 drives pyarrow's legacy dataset API, which a bare fsspec filesystem
    would switch off). None for local files: Petastorm's own."""
    if not urls or urls[0].startswith("file://"):
        return None
    return pyarrow.filesystem.S3FSWrapper(
        UPath(urls[0]).fs
    )  # any fsspec filesystem, despite the name


def padding(width: int) -> TransformSpec:
    """Pads each row group's list columns to ``width`` (Petastorm batches need one width)."""

    def pad(frame: pd.DataFrame) -> pd.DataFrame:
        for name in LIST_COLUMNS:
            frame[name] = list(pad_object_column(frame[name].values, width, np.int64))
        return frame

    fields = [(name, np.int64, (width,), False) for name in LIST_COLUMNS]
    return TransformSpec(pad, edit_fields=fields, selected_fields=SEQUENCE_COLUMNS)


class EpochBatches:
    """One epoch of this rank's shard (row groups rank, rank + world_size, ...), shuffled by row
    group and through a shuffling queue. Counts what it yields in ``read``; after the epoch, call
    ``check()`` (outside any DDP join: it is a collective when distributed)."""

    def __init__(
        self,
        files: SequenceFiles,
        batch_size: int,
        seed: int,
        rank: int = 0,
        world_size: int = 1,
        shuffle_capacity: int = 20_000,
        make_reader: Callable = make_batch_reader,
    ) -> None:
        self.files, self.batch_size, self.seed = files, batch_size, seed
        self.rank, self.world_size = rank, world_size
        self.shuffle_capacity, self.make_reader = shuffle_capacity, make_reader
        self.read = 0

    def __iter__(self) -> Iterator[Batch]:
        sharded = self.world_size > 1
        with self.make_reader(
            self.files.urls,
            filesystem=petastorm_filesystem(self.files.urls),
            num_epochs=1,
            reader_pool_type="dummy",
            schema_fields=SEQUENCE_COLUMNS,
            transform_spec=padding(self.files.width),
            shuffle_row_groups=True,
            seed=self.seed,
            cur_shard=self.rank if sharded else None,
            shard_count=self.world_size if sharded else None,
        ) as reader:
            loader = BatchedDataLoader(
                reader, batch_size=self.batch_size, shuffling_queue_capacity=self.shuffle_capacity
            )
            for columns in loader:
                batch = batch_from_columns(columns)
                self.read += len(batch)
                yield batch

    def check(self) -> None:
        check_epoch_count(self.read, self.files.rows)


def check_epoch_count(read: int, expected: int) -> None:
    """Sums the rows every rank read (when distributed) and fails on any difference."""
    total = read
    if dist.is_available() and dist.is_initialized():
        counter = torch.tensor([read], dtype=torch.long)
        if dist.get_backend() == "nccl":
            counter = counter.cuda()
        dist.all_reduce(counter)
        total = int(counter.item())
    if total != expected:
        raise ShortRead(
            f"the epoch read {total} rows but {GOLD_SEQUENCES} holds {expected}: "
            "refusing to train on partial data (Petastorm short read?)"
        )
