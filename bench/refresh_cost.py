"""What a refresh of 3 feeds costs in CPU, and what it does to answers being made meanwhile.

    python bench/refresh_cost.py [--items 10] [--questions 4]

A news site on loopback serves 3 feeds of ``--items`` new articles each. With the seed corpus
indexed and the model loaded, it measures, in one process as `qa-bot serve` runs them:
1. the refresh alone: wall time and process CPU time (fetch, extract, chunk, embed, write);
2. ``--questions`` answers alone: time to first token and to the checked answer;
3. the same answers while the background refresher (nice 10) fetches 3 fresh feeds.
Run it on an idle machine: anything else on the 2 cores changes every number.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa_bot.assistant import Assistant
from qa_bot.config import load_settings

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ["When could the US raise tariffs on Chinese goods?", "How much in Chinese goods would the tariffs cover?",
             "Who is leading the US side of the trade talks?", "When do the talks in Beijing take place?"]
STORY = ("The {town} council voted on Monday to fund a new ferry pier, story {i} of feed {f}. The pier will cost "
         "{i} million dollars, officials said, and work starts in the spring after a public hearing. ")


class Site(BaseHTTPRequestHandler):
    round = 0
    items = 10

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        base = f"http://127.0.0.1:{self.server.server_port}"
        today = dt.date.today().strftime("%a, %d %b %Y")
        if self.path.startswith("/feed"):
            f = int(self.path[5])
            links = "".join(f"<item><title>t</title><link>{base}/s{f}-{Site.round}-{i}.html</link>"
                            f"<pubDate>{today} 09:00:00 GMT</pubDate></item>" for i in range(Site.items))
            body = f"<?xml version='1.0'?><rss version='2.0'><channel><title>F{f}</title>{links}</channel></rss>"
            kind = "application/rss+xml"
        else:
            f, r, i = self.path[2:-5].split("-")
            town = f"Town{f}x{r}x{i}"
            text = STORY.format(town=town, i=i, f=f) * 4
            body = (f"<html><head><title>{town} funds a ferry pier</title></head><body><article>"
                    f"<h1>{town} funds a ferry pier</h1><p>{text}</p><p>{text}</p></article></body></html>")
            kind = "text/html; charset=utf-8"
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def answers(a: Assistant, n: int) -> tuple[list[float], list[float]]:
    ttft, total = [], []
    for q in (QUESTIONS * n)[:n]:
        t = a.ask(q, today=dt.date(2019, 2, 1)).timings
        ttft.append(t.get("ttft_s", t["total_s"]))
        total.append(t["total_s"])
    return ttft, total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=10, help="new articles per feed per refresh")
    ap.add_argument("--questions", type=int, default=4)
    args = ap.parse_args()
    Site.items = args.items
    server = ThreadingHTTPServer(("127.0.0.1", 0), Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(data_dir=Path(tmp) / "data", corpus_dir=Path(tmp) / "corpus")
        a = Assistant(settings, progress=False)
        a.ingest(ROOT / "corpus")
        a.load_llm()
        answers(a, 1)  # warm: the prompt prefix, the embedder
        for f in range(3):
            a.sources.add(f"{base}/feed{f}.xml", "1h")

        t, c = time.perf_counter(), cpu()
        done = a.sources.refresh()
        wall, used = time.perf_counter() - t, cpu() - c
        added = sum(len(d.report.added) for d in done)
        print(f"refresh of 3 feeds alone: {added} articles in {wall:.1f} s wall, {used:.1f} s CPU "
              f"({used / max(1, added):.2f} s CPU per article)")

        ttft, total = answers(a, args.questions)
        print(f"answers alone:            first token p50 {statistics.median(ttft):.2f} s, "
              f"answer p50 {statistics.median(total):.2f} s ({args.questions} questions)")

        Site.round = 1  # 3 feeds of new items again
        refresher = a.sources.start_refreshing(poll_s=1.0, log=lambda line: None)
        for s in a.sources.list():  # due now
            a.sources.registry.finish(s, time.time() - 7200, 0, 0, "", True)
        refresher.wake()
        c = cpu()
        ttft, total = answers(a, args.questions)
        print(f"answers during a refresh: first token p50 {statistics.median(ttft):.2f} s, "
              f"answer p50 {statistics.median(total):.2f} s (process CPU meanwhile {cpu() - c:.1f} s)")
        refresher.stop()
    server.shutdown()


if __name__ == "__main__":
    main()
