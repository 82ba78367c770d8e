"""Logging for pipeline jobs: everything a job says goes to its log file, errors also to the console."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

from musclecog.errors import MusclecogError


@contextlib.contextmanager
def log_to(path: str | Path) -> Iterator[logging.Logger]:
    """Send logging and warnings to ``path`` for the duration of a job.

    A :class:`~musclecog.errors.MusclecogError` raised inside is written to the log and to the
    console as one clear line and ends the job with exit status 1 (Snakemake then removes the
    job's partial outputs); any other exception propagates with its traceback.

    Parameters
    ----------
    path : path
        The job's log file (``snakemake.log[0]``).

    Yields
    ------
    logging.Logger
        The ``musclecog`` logger.
    """
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, mode="w")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    logger = logging.getLogger("musclecog")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            yield logger
    except MusclecogError as exc:
        logger.error("%s: %s", type(exc).__name__, exc)
        print(f"musclecog {type(exc).__name__}: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    finally:
        logging.captureWarnings(False)
        root.removeHandler(handler)
        handler.close()


def end_job() -> NoReturn:
    """End a pipeline job's process with status 0 once its outputs are written and closed.

    Flushes the logging handlers and the standard streams, then leaves with :func:`os._exit`, without the
    interpreter's teardown: freeing every object of pandas, scipy and matplotlib costs a job about 0.3 s of
    CPU (``benchmarks/bench_default_run.py``) and writes nothing. ``atexit`` hooks do not run, so call it
    only as the last statement of a rule script, after every file is closed.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
