"""Benchmark: answer latency (warm and cold), prompt size, and ingest throughput, in one run.

    python bench/bench.py [--corpus DIR] [--questions N] [--cold-runs N]   (make bench)

On an idle machine, with the default settings:
1. races qa-bot's ingest against the LangChain tutorial pipeline on the same corpus (the dev
   corpus when present): articles/s of each, the ratio, an unchanged re-ingest, and dev
   retrieval recall@5 of our index; then ingests DIR (default corpus/) for the rest;
2. cold: runs `qa-bot ask` as a new process (imports, model loads, index open, answer) and
   reports its wall time to the printed answer, and where it went (--verbose timings);
3. warm: asks the first N questions of evals/seed.jsonl with the model loaded and reports time
   to first token and total, p50 and max, and the prompt size in the model's own tokens (the
   fixed prefix llama.cpp keeps cached, and what is read anew per question).
Numbers shift by 2-4x when anything else runs on the 2 cores: measure nothing else meanwhile.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa_bot import prompts  # noqa: E402
from qa_bot.assistant import Assistant, Final, Token  # noqa: E402
from qa_bot.config import load_settings  # noqa: E402
from qa_bot.evaluation import load_dataset  # noqa: E402
from qa_bot.generate import answer_inputs  # noqa: E402

COLD_QUESTION = "When could the US raise tariffs on Chinese goods?"
DEV = ROOT.parent / "shared" / "devdata" / "realtimeqa-dev"


def generated_corpus(folder: Path, n: int = 200) -> Path:
    """News-like articles for the ingest race when the dev corpus is not here (varied lengths)."""
    import random

    rnd = random.Random(3)
    towns = ["Arlo", "Brant", "Cresby", "Dunmore", "Elston", "Fenwick", "Galloway", "Hartle", "Ivybridge", "Jarrow"]
    topics = ["ferry", "tram", "school", "library", "harbour", "bridge", "clinic", "market", "stadium", "reservoir"]
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        town, topic = rnd.choice(towns), rnd.choice(topics)
        paras = []
        for _ in range(rnd.randint(4, 24)):
            paras.append(" ".join(
                f"The {town} council said on {rnd.choice(['Monday', 'Friday'])} that the {topic} plan would cost "
                f"{rnd.randint(2, 90)} million dollars, and officials from {rnd.choice(towns)} asked about delays."
                for _ in range(rnd.randint(2, 5))))
        (folder / f"article-{i:04}.md").write_text(f"---\ntitle: {town} weighs {topic} plan\ndate: 2024-0{1 + i % 9}-1{i % 10}\n"
                                                   "---\n" + "\n\n".join(paras) + "\n")
    return folder


def tutorial_ingest(folder: Path, target: Path) -> tuple[float, int, int]:
    """The pipeline LangChain's RAG tutorials build: read every file as text, split with
    RecursiveCharacterTextSplitter(1000, 200), embed with all-MiniLM-L6-v2 through
    sentence-transformers, Chroma.from_documents. Returns (seconds, documents, chunks); the
    model is loaded before the clock starts, as ours is.

    HuggingFaceEmbeddings (langchain-huggingface) is a thin wrapper that calls
    SentenceTransformer.encode(texts) with its defaults; it can't be installed beside
    transformers 5 (it pins huggingface-hub < 2), so the same call is made here directly.
    """
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_core.embeddings import Embeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter
    from sentence_transformers import SentenceTransformer

    from qa_bot.embedder import model_dir

    model = SentenceTransformer(str(model_dir()), device="cpu")
    model.encode(["warm up"])

    class MiniLM(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return model.encode(texts, show_progress_bar=False).tolist()

        def embed_query(self, text: str) -> list[float]:
            return self.embed_documents([text])[0]

    t = time.perf_counter()
    docs = [Document(page_content=p.read_text(encoding="utf-8", errors="replace"), metadata={"source": str(p)})
            for p in sorted(folder.rglob("*")) if p.is_file()]
    chunks = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(docs)
    Chroma.from_documents(chunks, MiniLM(), persist_directory=str(target))
    return time.perf_counter() - t, len(docs), len(chunks)


def retrieval_recall(assistant: Assistant, dataset: Path, k: int = 5) -> float:
    """Share of answerable questions with a chunk of a gold article among the top k (no LLM)."""
    items = [it for it in load_dataset(dataset) if it.answerable and it.doc_ids]
    hits = 0
    for it in items:
        got = {p.article.id for p in assistant.search(it.question, k=k, today=it.asked_on)}
        hits += bool(got & set(it.doc_ids))
    return hits / len(items)


def ingest_race(corpus: Path, tmp: Path) -> None:
    """Ours against the tutorial pipeline on the same files, one after the other in this process."""
    ours = Assistant(load_settings(data_dir=tmp / "ours"), progress=False)
    ours.embedder  # noqa: B018  loaded (and exported, on a first run) outside the timing
    ours.index.chunk_embedder  # noqa: B018  likewise the int8 chunk embedder (quantised on a first run)
    t = time.perf_counter()
    r = ours.ingest(corpus)
    ours_s = time.perf_counter() - t
    t = time.perf_counter()
    ours.ingest(corpus)
    again = time.perf_counter() - t
    tut_s, tut_docs, tut_chunks = tutorial_ingest(corpus, tmp / "tutorial")
    ours_rate, tut_rate = len(r.added) / ours_s, tut_docs / tut_s
    print(f"ingest race on {corpus}:")
    print(f"    qa-bot   {len(r.added)} articles, {r.chunks_embedded} chunks in {ours_s:.1f}s = {ours_rate:.2f} articles/s"
          f" ({r.chunks_embedded / ours_s:.1f} chunks/s); unchanged re-ingest {again:.2f}s")
    print(f"    tutorial {tut_docs} files, {tut_chunks} chunks in {tut_s:.1f}s = {tut_rate:.2f} articles/s"
          f" ({tut_chunks / tut_s:.1f} chunks/s)")
    print(f"    ratio (qa-bot / tutorial, articles/s): {ours_rate / tut_rate:.2f}")
    if (DEV / "dev.jsonl").exists() and corpus.resolve() == (DEV / "corpus").resolve():
        print(f"    dev retrieval recall@5: {retrieval_recall(ours, DEV / 'dev.jsonl'):.3f}")


def cold_ask(data_dir: Path) -> tuple[float, str]:
    """Wall seconds of a fresh `qa-bot ask --verbose` process, and its timings line."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_BOT_")}
    env.update(QA_BOT_DATA_DIR=str(data_dir), HF_HUB_OFFLINE="1")
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "qa_bot.cli", "ask", "-q", "--verbose", COLD_QUESTION],
                       env=env, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t
    if p.returncode:
        raise SystemExit(f"cold ask failed: {p.stderr.strip()}")
    timing = next((ln for ln in p.stderr.splitlines() if ln.startswith("timings:")), "")
    return wall, timing


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    ap.add_argument("--questions", type=int, default=12, help="warm questions from evals/seed.jsonl (0: none)")
    ap.add_argument("--cold-runs", type=int, default=2)
    ap.add_argument("--ingest-corpus", type=Path, default=DEV / "corpus" if (DEV / "corpus").is_dir() else None,
                    help="corpus for the ingest race against the LangChain tutorial pipeline (default: the dev "
                    "corpus when present, else 200 generated articles); 'none' skips the race")
    ap.add_argument("--scale", type=int, metavar="N",
                    help="instead: the scale bench (bench/scale.py) on a synthetic index of N chunks, e.g. 300000")
    args = ap.parse_args()
    if args.scale:
        import scale

        sys.argv = [sys.argv[0], "--chunks", str(args.scale)]
        scale.main()
        return
    with tempfile.TemporaryDirectory() as tmp:
        if str(args.ingest_corpus) != "none":
            ingest_race(args.ingest_corpus or generated_corpus(Path(tmp) / "generated"), Path(tmp) / "race")
        a = Assistant(load_settings(data_dir=Path(tmp)), progress=False)
        a.embedder  # noqa: B018  load (and on a first run, export) outside the timing
        r = a.ingest(args.corpus)
        print(f"seed index: {len(r.added)} articles, {r.chunks_embedded} chunks")

        a.llm  # noqa: B018  assemble/verify the GGUF once, so the cold runs measure a user's second start
        for i in range(args.cold_runs):
            wall, timing = cold_ask(Path(tmp))
            print(f"cold `qa-bot ask` #{i + 1}: {wall:.2f}s from process start to exit (\"wall\" below: to the printed answer)")
            print(f"    {timing}")
        if not args.questions:
            return

        llm = a.llm
        llama = llm.load() if hasattr(llm, "load") else None
        count = (lambda s: len(llama.tokenize(s.encode(), add_bos=False, special=True))) if llama else None
        items = load_dataset(ROOT / "evals" / "seed.jsonl")[: args.questions]
        a.ask(items[0].question)  # fills llama.cpp's cache with the fixed prefix, as any earlier question would
        ttft, total, new_tokens, abstained = [], [], [], 0
        for it in items:
            t0 = time.perf_counter()
            first_token = None
            final = None
            for ev in a.ask_stream(it.question, today=it.asked_on):
                if isinstance(ev, Token) and first_token is None:
                    first_token = time.perf_counter() - t0
                elif isinstance(ev, Final):
                    final = ev.answer
            total.append(time.perf_counter() - t0)
            if first_token is not None:
                ttft.append(first_token)
            abstained += final.abstained
            if count and final.evidence:
                new_tokens.append(count(prompts.ANSWER_USER.format(**answer_inputs(it.question, final.evidence,
                                                                                  it.asked_on))))
        print(f"warm, {len(items)} seed questions ({abstained} declined; {len(ttft)} reached the model): "
              f"first token p50 {statistics.median(ttft):.2f}s max {max(ttft):.2f}s; "
              f"total p50 {statistics.median(total):.2f}s max {max(total):.2f}s")
        if count:
            print(f"prompt: fixed prefix {count(prompts.ANSWER_SYSTEM)} tokens (cached), per question "
                  f"p50 {statistics.median(new_tokens):.0f} max {max(new_tokens)} new tokens")
        off_us, on_ms, spans = tracing_cost(a, items)
        print(f"tracing: off {off_us:.1f} µs per ask ({spans} spans, each the shared no-op), on (in-memory "
              f"exporter) {on_ms:.2f} ms per ask; an answer above took {statistics.median(total):.2f}s p50")
        print(json.dumps({"ttft_p50_s": round(statistics.median(ttft), 3),
                          "total_p50_s": round(statistics.median(total), 3),
                          "tracing_off_us_per_ask": round(off_us, 2), "tracing_on_ms_per_ask": round(on_ms, 3)}))


def tracing_cost(a: Assistant, items) -> tuple[float, float, int]:
    """What tracing adds to one ask: off (the default), the spans an ask opens timed alone; on,
    the spans' cost measured the same way with OpenTelemetry's in-memory exporter. (A whole ask
    varies by more than either from run to run, so each is timed on its own.)"""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from qa_bot import trace

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.use(provider)
    a.ask(items[0].question, today=items[0].asked_on)  # one real ask: how many spans it opens
    names = [s.name for s in exporter.get_finished_spans()]
    exporter.clear()

    def spans_of_one_ask(repeat: int) -> float:
        t = time.perf_counter()
        for _ in range(repeat):
            root = trace.start("qa.ask", k=5)
            for name in names[:-1]:
                trace.start(name, root, items=3, chars=600).end(kept=1)
            root.end(abstained=False)
        return (time.perf_counter() - t) / repeat

    on_s = spans_of_one_ask(200)
    trace.use(None)
    off_s = spans_of_one_ask(20_000)
    return off_s * 1e6, on_s * 1e3, len(names)


if __name__ == "__main__":
    main()
