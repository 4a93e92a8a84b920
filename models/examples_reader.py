"""Training examples read by Petastorm over the LIVE files of gold.training_examples.

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

import torch
import torch.distributed as dist
from petastorm import make_batch_reader
from petastorm.pytorch import BatchedDataLoader

from models.batch import EXAMPLE_COLUMNS, Batch, batch_from_columns
from warehouse.lake import TableNotReady, live_files, open_table, row_count
from warehouse.settings import Settings
from warehouse.tables import GOLD_EXAMPLES

# petastorm 0.13 drives pyarrow's legacy API, which warns on every call; other warnings still show.
warnings.filterwarnings("ignore", category=FutureWarning, module=r"petastorm\..*")
warnings.filterwarnings("ignore", category=FutureWarning, module=r"pyarrow\..*")


class ShortRead(RuntimeError):
    """An epoch read a different number of rows than the table holds."""


@dataclass(frozen=True)
class ExampleFiles:
    """The live files of the examples for ds in [first, last], and how many rows they hold."""

    urls: list[str]
    rows: int

    @classmethod
    def of(cls, settings: Settings, first: date | None, last: date | None) -> ExampleFiles:
        files = live_files(open_table(settings, GOLD_EXAMPLES), (first, last))
        if not files:
            raise TableNotReady(f"{GOLD_EXAMPLES} has no rows for ds in [{first}, {last}]")
        return cls([f"file://{f}" for f in files], row_count(files))


class EpochBatches:
    """One epoch of this rank's shard (row groups rank, rank + world_size, ...), shuffled by row
    group and through a shuffling queue. Counts what it yields in ``read``; after the epoch, call
    ``check()`` (outside any DDP join: it is a collective when distributed)."""

    def __init__(
        self,
        files: ExampleFiles,
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
            num_epochs=1,
            reader_pool_type="dummy",
            schema_fields=EXAMPLE_COLUMNS,
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
            f"the epoch read {total} rows but {GOLD_EXAMPLES} holds {expected}: "
            "refusing to train on partial data (Petastorm short read?)"
        )
