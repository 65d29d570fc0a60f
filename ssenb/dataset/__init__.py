"""Many captures as one dataset, analysed per stream on Dask or with pandas.

Rules of this package:

- A dataset keeps each stream's rows together in one part (a Parquet file, or one
  capture file), so every per-stream analysis runs part by part with no shuffle.
- Capture metadata is kept per stream (time scale, redacted URLs, schema version):
  a stream analysed from a dataset gives the tables it gives as a capture of its own.
- Dask is optional (``pip install "ssenb[dask]"``): with it, analyses run on whatever
  scheduler is active (a ``distributed.Client`` on a laptop or a cluster); without
  it, pandas reads the dataset one part at a time, with a progress bar.
- Layout on disk: see ``_layout.py``. A recording can write into a dataset as it goes
  through :class:`DatasetWriter` (``add`` each finished capture).
"""

from __future__ import annotations

from ._dataset import Dataset, open_dataset
from ._run import DatasetResult
from ._write import DatasetWriter, save_dataset

__all__ = ["Dataset", "DatasetResult", "DatasetWriter", "open_dataset", "save_dataset"]
