"""Judging pages beside reading them, with a bounded number of pages in between."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

PAGES_IN_FLIGHT = 4  # pages read and not yet judged, at most (each at most 1 MB)


class PagePipeline:
    """Judge pages in a thread of their own while the scan threads read the next ones.

    A scan thread hands its page over and asks for the next page at once, so reading and
    judging overlap instead of taking turns. The queue holds at most ``PAGES_IN_FLIGHT``
    pages: a scan that outpaces the judge waits, and memory stays bounded.
    """

    def __init__(self, on_page: Callable[[list[dict[str, Any]]], None]) -> None:
        self.on_page = on_page
        self.pages: queue.Queue[list[dict[str, Any]] | None] = queue.Queue(PAGES_IN_FLIGHT)
        self.error: BaseException | None = None
        self.worker = threading.Thread(target=self._judge, name="audit-judge", daemon=True)
        self.worker.start()

    def _judge(self) -> None:
        while True:
            page = self.pages.get()
            if page is None:
                return
            if self.error is None:
                try:
                    self.on_page(page)
                except BaseException as exc:  # handed to the caller in submit/close
                    self.error = exc

    def submit(self, page: list[dict[str, Any]]) -> None:
        if self.error is not None:
            raise self.error
        self.pages.put(page)

    def close(self) -> None:
        """Wait until every page is judged; re-raise what judging raised."""
        self.pages.put(None)
        self.worker.join()
        if self.error is not None:
            raise self.error
