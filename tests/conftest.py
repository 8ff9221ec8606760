"""Shared pytest setup: make the in-repo pyengine importable without installing it."""
import os
import sys

# OpenBLAS's default thread pool thrashes on a loaded 2-core machine (several times slower for the
# small matrices a playground uses); one thread is faster and gives repeatable results.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "pyengine"))


def pytest_collection_modifyitems(config, items):
    """Engine and tooling tests first, browser tests last (a stable sort keeps each file's order).

    Fast failures show first, and the CPython tests never run after Playwright's sync API has made
    an event loop the running one on this thread (where `asyncio.run()` would be refused).
    """
    browser_dir = os.path.join(ROOT, "tests", "browser")
    items.sort(key=lambda item: os.path.dirname(str(item.fspath)) == browser_dir)
