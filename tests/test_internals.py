"""The private parts of llama-cpp-python and httpx that qa-bot uses still exist in the
installed versions (internals.py). An upgrade that removes one fails here, by name, instead of
turning the prompt cache or the bounded fetch off in silence."""

from __future__ import annotations

import httpx
import pytest

from qa_bot.internals import (
    InternalsChanged,
    httpx_set_network_backend,
    llama_evaluated_ids,
    llama_last_logits,
)


def test_a_fetch_can_still_swap_httpcores_network_backend():
    import httpcore

    transport, backend = httpx.HTTPTransport(), httpcore.SyncBackend()
    httpx_set_network_backend(transport, backend)
    assert transport._pool._network_backend is backend


def test_a_missing_private_part_is_a_loud_error_naming_the_library():
    with pytest.raises(InternalsChanged, match=r"httpx \S+ has no _pool"):
        httpx_set_network_backend(object(), None)


@pytest.mark.integration
def test_the_answer_prompt_cache_and_the_judges_logits_work_with_the_installed_llama_cpp(seed_assistant):
    llm = seed_assistant.llm
    llama = llm.load()
    assert llm.prefix_cached  # computed or restored from disk through internals.llama_state/llama_restore
    with llm.lock:  # the context is not re-entrant
        llama.eval(llama.tokenize(b"The ferry leaves at", add_bos=False))
        assert len(llama_evaluated_ids(llama)) >= 4
        assert llama_last_logits(llama).shape == (llama.n_vocab(),)
