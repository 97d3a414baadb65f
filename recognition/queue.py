"""Send background jobs to Celery, or to a thread of this process when no broker is set.

Jobs are sent only after the current transaction commits, so that a worker
never looks for a row that is not there yet. Every job takes ids and is
idempotent (see recognition.services), so sending one twice does no harm.
"""

import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from celery import Task
from django.conf import settings
from django.db import close_old_connections, transaction

logger = logging.getLogger(__name__)

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()
_inline = threading.local()


def enqueue(task: Task, *args: str) -> None:
    transaction.on_commit(lambda: send(task, *args))


@contextmanager
def running_inline() -> Iterator[None]:
    """Run the jobs sent from this thread at once, for management commands that wait for them."""
    _inline.active = True
    try:
        yield
    finally:
        _inline.active = False


def send(task: Task, *args: str) -> None:
    if getattr(_inline, "active", False):
        task.run(*args)
        return
    if settings.CELERY_BROKER_URL:
        task.delay(*args)
        return
    _embedded_executor().submit(_run_embedded, task, args)


def _embedded_executor() -> ThreadPoolExecutor:
    # One thread: the models are not shared between threads, and one photo at
    # a time already keeps a core busy.
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="facegate-jobs")
        return _executor


def _run_embedded(task: Task, args: tuple[str, ...]) -> None:
    close_old_connections()
    try:
        task.run(*args)
    except Exception:
        logger.exception("Background job %s%s failed", task.name, args)
    finally:
        close_old_connections()
