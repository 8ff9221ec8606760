"""Shared pytest setup: make the in-repo pyengine importable without installing it."""
import os
import sys

# OpenBLAS's default thread pool thrashes on a loaded 2-core machine (several times slower for the
# small matrices a playground uses); one thread is faster and gives repeatable results.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "pyengine"))
