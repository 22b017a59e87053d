"""Suite-wide test set-up: a JAX compilation cache private to one test session.

Compilation, not computation, is most of this suite's run time (60% of it in a
serial run), and many tests build programs that another test has already
compiled: each ``run_shearing_box`` call traces fresh closures, spawned
``diskorbits.parallel`` workers start from nothing, and with ``pytest -n 2
--dist loadfile`` two test files that share a program often run in different
processes. JAX's persistent compilation cache keys an executable on the full
module text, compile options and backend, so a hit returns the executable that
compiling the same module would have produced: results are unchanged, only
compile time is saved.

The cache lives in a fresh temporary directory made by the controlling pytest
process, shared by its xdist workers and by the processes the tests spawn
(through ``JAX_COMPILATION_CACHE_DIR``), and removed when the session ends, so
nothing carries over between runs. Writes are not atomic across processes; a
reader that catches an entry half-written gets a warning from JAX and compiles
the module itself, which is as slow as running without the cache, never wrong.
"""

import os
import shutil
import tempfile

import jax

# Cache every compilation: even an eager jnp operation takes ~4x longer to dispatch with
# a fresh compilation (~70 ms here) than with a reloaded one, and the other xdist worker
# compiles most of the same ones.
_MIN_COMPILE_SECONDS = 0.0
# Set by the controlling process; xdist workers and spawned processes inherit it.
_ENV = "DISKORBITS_TEST_JAX_CACHE_DIR"


def pytest_configure(config):
    cache_dir = os.environ.get(_ENV)
    if cache_dir is None:  # the controller (or a run without xdist): it owns the directory
        cache_dir = tempfile.mkdtemp(prefix="diskorbits-test-jax-cache-")
        os.environ[_ENV] = cache_dir
        config._diskorbits_jax_cache_dir = cache_dir
    settings = {
        "jax_compilation_cache_dir": cache_dir,
        "jax_persistent_cache_min_compile_time_secs": _MIN_COMPILE_SECONDS,
        "jax_persistent_cache_min_entry_size_bytes": 0,
    }
    for name, value in settings.items():
        jax.config.update(name, value)
        os.environ[name.upper()] = str(value)  # for processes the tests spawn


def pytest_unconfigure(config):
    cache_dir = getattr(config, "_diskorbits_jax_cache_dir", None)
    if cache_dir is not None:
        shutil.rmtree(cache_dir, ignore_errors=True)
        os.environ.pop(_ENV, None)

