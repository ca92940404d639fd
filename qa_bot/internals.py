"""Other libraries' private parts that qa-bot relies on, each behind one function.

Two features need what their libraries do not publish:

* llama-cpp-python: the prompt-prefix cache (llms.py) and the judge's next-token logits
  (judge.py) read and write the llama.cpp context (``Llama._ctx``), the evaluated token ids
  (``_input_ids``) and the "needs evaluation" flag (``_requires_eval``);
* httpx: bounding a fetch's whole transfer in time and pinning it to checked addresses
  (fetch.py) swaps httpcore's network backend (``HTTPTransport._pool._network_backend``); httpx
  has no parameter for it.

A library upgrade that renames one of them must fail loudly, not turn a feature off in
silence: every accessor raises ``InternalsChanged`` naming the library, its version and the
missing part, and tests/test_internals.py checks each against the installed versions.
"""

from __future__ import annotations

import ctypes
from typing import Any


class InternalsChanged(RuntimeError):
    """A library no longer has a private part qa-bot uses (after an upgrade)."""


def _part(obj: Any, *path: str, library: str) -> Any:
    for name in path:
        if not hasattr(obj, name):
            raise InternalsChanged(
                f"{library} {_version(library)} has no {'.'.join(path)}: qa-bot's use of it needs updating"
            )
        obj = getattr(obj, name)
    return obj


def _version(library: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(library)
    except PackageNotFoundError:
        return "(not installed)"


# ---- llama-cpp-python ---------------------------------------------------------------------

LLAMA = "llama-cpp-python"


def llama_evaluated_ids(llama: Any) -> Any:
    """Every token id the context evaluated in its last call (``Llama._input_ids``)."""
    return _part(llama, "_input_ids", library=LLAMA)


def llama_keep_first(llama: Any, n: int) -> bool:
    """Drop the KV cache after the first ``n`` tokens, so the context holds exactly them."""
    ok = bool(n) and bool(_part(llama, "_ctx", "kv_cache_seq_rm", library=LLAMA)(-1, n, -1))
    if ok:
        llama.n_tokens = n
    return ok


def llama_state(llama: Any) -> bytes:
    """The context's whole state (its KV cache included), as bytes."""
    import llama_cpp

    ctx = _part(llama, "_ctx", "ctx", library=LLAMA)
    size = llama_cpp.llama_state_get_size(ctx)
    buf = (ctypes.c_uint8 * int(size))()
    written = int(llama_cpp.llama_state_get_data(ctx, buf, size))
    return bytes(memoryview(buf)[:written])


def llama_restore(llama: Any, ids: Any, state: bytes) -> None:
    """Put back a state saved with ``llama_state`` for the tokens ``ids``."""
    import llama_cpp

    ctx = _part(llama, "_ctx", "ctx", library=LLAMA)
    _part(llama, "_requires_eval", library=LLAMA)
    buf = (ctypes.c_uint8 * len(state)).from_buffer_copy(state)
    if llama_cpp.llama_state_set_data(ctx, buf, len(state)) != len(state):
        raise RuntimeError("llama.cpp refused the saved state")
    llama.input_ids[: len(ids)] = ids
    llama.n_tokens = len(ids)
    llama._requires_eval = True


def llama_last_logits(llama: Any) -> Any:
    """The next-token logits after the last evaluated token, as a numpy array (no copy)."""
    import numpy as np

    return np.ctypeslib.as_array(_part(llama, "_ctx", "get_logits", library=LLAMA)(), shape=(llama.n_vocab(),))


# ---- httpx / httpcore ---------------------------------------------------------------------


def httpx_set_network_backend(transport: Any, backend: Any) -> None:
    """Make ``transport`` (an ``httpx.HTTPTransport``) open its connections through ``backend``
    (an ``httpcore`` network backend)."""
    pool = _part(transport, "_pool", library="httpx")
    _part(pool, "_network_backend", library="httpcore")
    pool._network_backend = backend
