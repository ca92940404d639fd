"""The real thing end to end: real embedder, real Chroma, the real local 1.5B model on the seed article.

Few questions (each takes ~30 s on 2 cores), always run.
"""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.integration


def test_tariff_deadline_is_answered_with_a_citation_that_contains_it(seed_assistant):
    ans = seed_assistant.ask("When could the US raise tariffs on Chinese goods?")
    assert not ans.abstained
    assert "March 1" in ans.text
    assert re.search(r"\[\d+\]", ans.text)
    assert any("March 1" in c.passage.chunk.text for c in ans.citations)
    for c in ans.citations:  # offsets point at the exact span of the article
        assert c.passage.article.id == "000_0cd96bd9d1e8fa7f"
    assert ans.timings["ttft_s"] > 0 and ans.timings["total_s"] >= ans.timings["ttft_s"]
    # every token of the draft comes with the model's probability for it (the eval records keep them)
    pieces = [t for t, _ in ans.draft_token_probs]
    assert "".join(pieces).strip() == ans.draft.strip()
    assert all(0 < p <= 1 for _, p in ans.draft_token_probs)
    assert ans.answer_check is None  # the answer check is off by default


# one passage of the seed article, as the model is shown it (headline and date, then the sentences)
TALKS = ("China Vows to Buy More U.S. Goods, Sees Progress in Trade Talks (2019-01-31)\n"
         "The agreement to continue talking raises hopes the world's two biggest economies could find a way to end "
         "the conflict before March 1, when the U.S. has said it may more than double tariffs on $200 billion of "
         "Chinese goods. But there was little concrete evidence they bridged yawning differences over the toughest "
         "issues such as China's policy on intellectual property.")


def test_the_graders_yes_tells_an_answer_from_a_neighbouring_fact(seed_assistant):
    """The answer check on the real 1.5B model, with the same passage: the answer passes the
    threshold; a true sentence of that passage that answers something else does not."""
    from qa_bot.generate import grader_messages
    from qa_bot.llms import yes_probability

    def grade(question: str, answer: str) -> float:
        return yes_probability(seed_assistant.llm, grader_messages(question, answer, [TALKS]))

    threshold = seed_assistant.settings.answer_check_threshold
    q = "By what date could the US more than double tariffs on Chinese goods?"
    assert grade(q, "The US could more than double tariffs by March 1.") >= threshold
    assert grade(q, "The differences are over China's policy on intellectual property.") < threshold


def test_travellers_are_named_with_a_citation(seed_assistant):
    ans = seed_assistant.ask("Who will travel to China for the next round of talks?")
    assert not ans.abstained
    assert "Mnuchin" in ans.text and "Lighthizer" in ans.text
    assert ans.citations and any("Mnuchin" in c.passage.chunk.text for c in ans.citations)


def test_detail_question_with_low_similarity_still_reaches_the_model(seed_assistant):
    """A question about one detail of a long passage scores low by cosine, but the passage names
    the person it asks about: declining it unasked would be a false abstention."""
    from qa_bot.policy import worth_asking

    question = "Which think tank does Derek Scissors work for?"
    passages = seed_assistant.search(question)
    assert max(p.score for p in passages) < seed_assistant.settings.min_relevance
    assert worth_asking(question, passages, seed_assistant.settings)
    far = "What is the capital of Australia?"
    assert not worth_asking(far, seed_assistant.search(far), seed_assistant.settings)


def test_question_the_articles_cannot_answer_abstains(seed_assistant):
    ans = seed_assistant.ask("What is the capital of Australia?")
    assert ans.abstained
    assert ans.text.startswith("The articles don't say")
    assert not ans.citations
    assert "Canberra" not in ans.text
    assert ans.abstain_reason == "no_relevant_passage" and ans.timings["generate_s"] == 0.0


def test_follow_up_question_is_understood_in_context(seed_assistant):
    # the earlier turn as the chat keeps it (a cited answer); only the follow-up is asked here
    first = ("Who will travel to China for the next round of talks?",
             "Treasury Secretary Steven Mnuchin and Trade Representative Robert Lighthizer will travel to China [1].")
    ans = seed_assistant.ask("and when will they visit?", history=[first])
    assert ans.standalone_question and ans.standalone_question != "and when will they visit?"
    assert not ans.abstained and "mid-February" in ans.text and ans.citations


def test_openai_compatible_server_on_loopback(tmp_path, llama_server):
    """QA_BOT_LLM_URL switches to a real llama.cpp server (the small model) on 127.0.0.1."""
    import json
    import os

    from tests.conftest import SEED_CORPUS
    from tests.test_cli import qa

    assert qa("ingest", "-q", str(SEED_CORPUS), data_dir=tmp_path).returncode == 0
    env = {"QA_BOT_LLM_URL": llama_server, "QA_BOT_LLM_MODEL": "qwen-small"}
    p = qa("ask", "--json", "When could the US raise tariffs on Chinese goods?", data_dir=tmp_path, env=env)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert set(out) >= {"question", "answer", "abstained", "citations", "timings"}
    # the server drafted (the question reached the model, through HTTP) ...
    assert out["timings"]["generate_s"] > 0 and out["abstain_reason"] != "no_relevant_passage"
    # ... and its draft went through the same checker: the 0.5B model answers or declines, and
    # nothing uncited gets through either way
    if not out["abstained"]:
        assert out["citations"] and all(c["text"] for c in out["citations"])
        assert all(s["supported"] for s in out["sentences"])
    assert os.environ.get("QA_BOT_LLM_URL") is None


def test_a_server_model_is_barred_from_its_marker_through_logit_bias(llama_server):
    """A model behind an OpenAI-compatible server (a real ``llama_cpp.server`` on loopback, the
    0.5B model) is barred from its "not found" marker as the local model is: through
    ``logit_bias``, with the token id the server's own tokenize endpoint gives."""
    from langchain_openai import ChatOpenAI

    from tests.test_llms import assert_barring_works

    assert_barring_works(ChatOpenAI(base_url=llama_server, model="qwen-small", api_key="none", temperature=0,
                                    max_tokens=24, max_retries=0))


def test_a_server_model_is_graded_by_its_log_probabilities(llama_server):
    """The answer check through an OpenAI-compatible server reads P(yes) from the first token's
    top log-probabilities, not just the word (which would give exactly 0 or 1)."""
    from langchain_openai import ChatOpenAI

    from qa_bot.generate import grader_messages
    from qa_bot.llms import yes_probability

    llm = ChatOpenAI(base_url=llama_server, model="qwen-small", api_key="none", temperature=0, max_retries=0)
    p = yes_probability(llm, grader_messages("When could tariffs on Chinese goods rise?", "Tariffs could rise on March 1.",
                                             [TALKS]))
    assert 0.0 < p < 1.0 and p > 0.5
