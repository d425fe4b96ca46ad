"""Work spread over local processes, results back in the parent, with a progress bar in items/s."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
from typing import Callable, Iterable, Iterator, TypeVar

from threadpoolctl import threadpool_limits

from datacentric.core.progress import bar

Task = TypeVar("Task")
Result = TypeVar("Result")


def limit_threads(threads: int) -> None:
    """Pool initializer: one core's worth of threads per process, so processes do not fight over cores.
    (OpenCV stays single-threaded from import on, see corruptions/ops.py: reconfiguring its pool in
    a forked child deadlocks.)"""
    threadpool_limits(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def map_unordered(fn: Callable[[Task], Result], tasks: Iterable[Task], *, workers: int, total: int,
                  size: Callable[[Task], int], desc: str, unit: str = "img", initial: int = 0,
                  progress: bool = True, threads_per_worker: int | None = 1) -> Iterator[Result]:
    """Yield fn(task) for every task, in completion order; `workers` ≤ 1 runs inline.

    The bar counts `size(task)` items per finished task, so it shows items/s; `initial` counts
    items finished by an earlier run (resumed work). `threads_per_worker` caps BLAS/OpenMP
    threads in each process (and inline), since small per-image work only loses from them.
    """
    tasks = list(tasks)
    progress_bar = bar(total=total, initial=initial, desc=desc, unit=unit, enabled=progress, smoothing=0.1)
    sizes = {id(task): size(task) for task in tasks}
    with progress_bar:
        if workers <= 1 or len(tasks) <= 1:
            limit = threadpool_limits(threads_per_worker) if threads_per_worker else contextlib.nullcontext()
            with limit:
                for task in tasks:
                    result = fn(task)
                    progress_bar.update(sizes[id(task)])
                    yield result
            return
        # fork: workers inherit the loaded modules at once; they run numpy/imgaug/cv2 code only
        context = multiprocessing.get_context("fork")
        initializer = (limit_threads, (threads_per_worker,)) if threads_per_worker else (None, ())
        with context.Pool(processes=min(workers, len(tasks)), initializer=initializer[0],
                          initargs=initializer[1]) as pool:
            for task_size, result in pool.imap_unordered(_Sized(fn), [(sizes[id(t)], t) for t in tasks]):
                progress_bar.update(task_size)
                yield result


class _Sized:
    """Picklable wrapper returning (task size, result) so the parent can count finished items."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, sized_task):
        task_size, task = sized_task
        return task_size, self.fn(task)
