"""The web UI in a real browser: Debian's chromium driven by Playwright against `qa-bot serve`
on a free loopback port, with the real index and the real local model."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, SEED_CORPUS, clean_env, start_qa_bot_serve
from tests.test_more_ways_in import site  # noqa: F401 - the loopback news site fixture
from tests.test_sources import newsroom  # noqa: F401 - a news site whose feed changes

pytestmark = pytest.mark.integration
CHROMIUM = "/usr/bin/chromium"
ANSWER_TIMEOUT_MS = 240_000
USER, PASSWORD = "tester", "correct horse:battery"  # a colon inside the password is allowed
OTHER, OTHER_PASSWORD = "second", "another secret"  # a second login: sees none of the first's conversations


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("web")
    corpus = tmp / "corpus"
    shutil.copytree(SEED_CORPUS, corpus)
    # bound to every interface, as a team server would be: that requires a login and an API key
    proc, base = start_qa_bot_serve(tmp, {
        "QA_BOT_DATA_DIR": str(tmp / "data"), "QA_BOT_CORPUS_DIR": str(corpus), "QA_BOT_AUTH": f"{USER}:{PASSWORD},{OTHER}:{OTHER_PASSWORD}",
        "QA_BOT_API_KEY": "web-test-key", "QA_BOT_MAX_FILE_MB": "1",
        "QA_BOT_FETCH_PRIVATE": "true",  # the test news site is on loopback
    }, host="0.0.0.0")
    url = base + "/"
    yield url, corpus, tmp / "data"
    proc.terminate()
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "install Debian's chromium (make test does)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                              args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                    "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    page = ctx.new_page()
    page.dialogs = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    login(page, server[0], USER, PASSWORD)
    page.wait_for_selector("#qa-question textarea")
    yield page
    ctx.close()


def login(page, url: str, user: str, password: str) -> None:
    page.goto(url)
    page.fill("input[data-testid=textbox]", user)
    page.fill("input[type=password]", password)
    page.get_by_role("button", name="Login").click()


def test_a_server_others_can_reach_asks_for_a_password(browser, server):
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(server[0])
    page.wait_for_selector("input[type=password]")  # the login page, not the app
    assert page.locator("#qa-question").count() == 0
    login(page, server[0], USER, "wrong password")
    page.wait_for_function("() => /incorrect/i.test(document.body.innerText)", timeout=30_000)
    assert page.locator("#qa-question").count() == 0
    # the login page says nothing about the library: no article id or title in what it serves
    served = urllib.request.urlopen(server[0], timeout=10).read().decode()
    assert SEED_ID not in served and "Trump" not in served and "tariff" not in served.lower()
    # nor can a program skip the page: the API refuses without the session cookie
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(server[0] + "gradio_api/info", timeout=10)
    assert e.value.code == 401
    login(page, server[0], USER, PASSWORD)
    page.wait_for_selector("#qa-question textarea", timeout=30_000)
    ctx.close()


def ask(page, question: str) -> float:
    """Type and send a question; wait for the checked answer. Returns seconds to the first token."""
    # the chat renders after the question box: observing it before it exists fails (seen once in
    # `make test`: "parameter 1 is not of type 'Node'")
    page.wait_for_selector("#qa-chat", state="attached", timeout=30_000)
    bots = page.locator("#qa-chat .bot")
    before = bots.count()
    # every change to the chat is seen (a MutationObserver, not a poll that may miss a short draft)
    page.evaluate("""() => { window.qaSawDraft = false; window.qaObserver?.disconnect();
        window.qaObserver = new MutationObserver(() => { const b = document.querySelectorAll('#qa-chat .bot');
          if (b.length && b[b.length-1].querySelector('.qa-draft')?.innerText.trim()) window.qaSawDraft = true; });
        window.qaObserver.observe(document.querySelector('#qa-chat'), {subtree: true, childList: true, characterData: true}); }""")
    t0 = time.perf_counter()
    page.fill("#qa-question textarea", question)
    page.click("#qa-ask")
    # the first streamed model text (greyed draft) or, when nothing streams (early abstention), the final answer
    first = page.wait_for_function(
        "n => { const b = document.querySelectorAll('#qa-chat .bot'); if (b.length <= n) return false;"
        " const last = b[b.length-1];"
        " if (last.querySelector('.qa-draft')?.innerText.trim().length > 0) return 'draft';"
        " return (last.querySelector('a.qa-cite, .qa-abstain') !== null || last.innerText.includes('⚠')) && 'final'; }",
        arg=before, timeout=ANSWER_TIMEOUT_MS)
    ttft = time.perf_counter() - t0
    first.json_value()
    page.wait_for_function(
        "() => { const b = document.querySelectorAll('#qa-chat .bot'); const last = b[b.length-1];"
        " return last.querySelector('a.qa-cite, .qa-abstain') !== null || last.innerText.includes('⚠'); }",
        timeout=ANSWER_TIMEOUT_MS)
    page.ask_total = time.perf_counter() - t0
    # what the browser showed before the checked answer: the greyed draft, or nothing
    page.first_seen = "draft" if page.evaluate("() => window.qaSawDraft") else "final"
    return ttft


def answer_and_first_source(page, question: str) -> tuple[str, str]:
    """Ask, click the answer's first citation; returns the answer's text and the Sources panel's."""
    ask(page, question)
    last = page.locator("#qa-chat .bot").last
    text = last.inner_text()
    last.locator("a.qa-cite").first.click()
    return text, page.locator("#qa-sources").inner_text()


def upload(page, path: Path) -> str:
    """Upload one file through the Add articles tab; returns the status the user reads."""
    page.get_by_role("tab", name="Add articles").click()
    page.locator("#qa-upload").wait_for(state="visible", timeout=30_000)
    before = page.input_value("#qa-add-status textarea")
    page.set_input_files("#qa-upload input[type=file]", str(path))
    # The file is in the widget (uploaded to the server) once Gradio lists its name. Gradio shows
    # the name's stem and extension in two elements; once its stylesheet lays them out, innerText
    # puts a line break between them ("note-1\n.md"), so the name is read from textContent.
    # (Reading innerText failed 4 uploads in 15 on a loaded machine, 0 in 15 idle, 2026-12-02.)
    page.wait_for_function("name => document.querySelector('#qa-upload').textContent.replace(/\\s+/g, '')"
                           ".includes(name.replace(/\\s+/g, ''))", arg=path.name, timeout=60_000)
    return add_and_read_status(page, before)


def add_and_read_status(page, before: str) -> str:
    """Click "Add to library" and return the new status once it replaces ``before``."""
    page.click("#qa-add")
    page.wait_for_function("old => { const v = (document.querySelector('#qa-add-status textarea')||{}).value;"
                           " return v && v !== old; }", arg=before, timeout=120_000)
    status = page.input_value("#qa-add-status textarea")
    page.get_by_role("tab", name="Chat").click()
    return status


def library(page) -> str:
    """The Library tab's table as the user sees it. (The waits of this module read elements with
    ``?.``: Gradio renders a tab's content after the click, and a wait whose script throws on a
    missing element fails at once instead of waiting for it; seen once, 2026-12-03.)"""
    page.get_by_role("tab", name="Library").click()
    page.wait_for_function(f"() => document.querySelector('#qa-library')?.innerText.includes('{SEED_ID}')")
    text = page.locator("#qa-library").inner_text()
    page.get_by_role("tab", name="Chat").click()
    return text


def test_answer_streams_with_a_citation_that_opens_its_passage(page, output_dir):
    ttft = ask(page, "When could the US raise tariffs on Chinese goods?")
    assert page.first_seen == "draft", "the greyed draft should show before the checked answer replaces it"
    last = page.locator("#qa-chat .bot").last
    assert last.locator(".qa-draft").count() == 0  # the checked answer replaced the greyed draft
    assert "March 1" in last.inner_text()
    cite = last.locator("a.qa-cite").first
    cite.click()
    target = cite.get_attribute("href")
    assert target.startswith("#qa-src-")
    passage = page.locator(target)
    assert "March 1" in passage.inner_text()
    assert passage.evaluate("el => el.classList.contains('qa-focus')")
    page.screenshot(path=str(output_dir / "web-answer.png"), full_page=True)
    # seconds from the click to the first model text in the browser, and to the checked answer
    (output_dir / "web-timing.txt").write_text(f"ttft_s={ttft:.1f} total_s={page.ask_total:.1f}\n")


def test_uploaded_article_can_be_asked_about_at_once(page, tmp_path):
    art = tmp_path / "zephyr-canal.md"
    art.write_text("---\ntitle: Zephyr Canal Opens\ndate: 2024-04-02\n---\n"
                   "The Zephyr Canal in Port Alvio opened on Tuesday. Its chief engineer, Marisol Quenby, said the "
                   "canal is 14 kilometres long and cost 310 million euros.\n")
    assert "indexed" in upload(page, art)
    answer, sources = answer_and_first_source(page, "Who was the chief engineer of the Zephyr Canal?")
    assert "Quenby" in answer and "Zephyr Canal Opens" in sources


def test_hostile_article_is_shown_as_text_and_runs_nothing(page, tmp_path):
    art = tmp_path / "hostile.html"
    art.write_text("<html><head><meta property='og:title' content='Pwn &lt;script&gt;window.pwned=1&lt;/script&gt; title'>"
                   "</head><body><article><p>The Quillfeather Museum reopened on Friday &lt;img src=x "
                   "onerror=window.pwned=2&gt; &lt;script&gt;window.pwned=3&lt;/script&gt; with a new wing "
                   "for clocks.</p></article></body></html>")
    upload(page, art)
    page.get_by_role("tab", name="Library").click()
    assert "<script>window.pwned=1</script>" in page.locator("#qa-library").inner_text()
    page.get_by_role("tab", name="Chat").click()
    ask(page, "What did the Quillfeather Museum open?")
    # no element was made of the article's text (so no onerror can fire later), and nothing ran
    assert page.locator("#qa-sources img, #qa-chat img[src=x], #qa-sources script, #qa-chat script").count() == 0
    assert page.evaluate("() => window.pwned") is None
    assert page.dialogs == []
    text = page.locator("#qa-sources").inner_text() + page.locator("#qa-chat").inner_text()
    assert "Quillfeather" in text


SEED_ID = "000_0cd96bd9d1e8fa7f"


def _article(title: str, body: str) -> str:
    return f"---\ntitle: {title}\ndate: 2024-03-01\n---\n{body}\n"


def test_an_upload_never_replaces_or_deletes_another_article(page, server, tmp_path):
    corpus = server[1]
    uploads = corpus / "uploads"
    assert "Impostor" not in library(page)

    # 1. a file named like an indexed article gets its own id; the original stays
    same = tmp_path / f"{SEED_ID}.md"
    same.write_text(_article("Impostor of the seed article", "A story about the Larchmont ferry strike, which ended."))
    status = upload(page, same)
    assert f"saved as {SEED_ID}-2.md" in status and f"indexed as {SEED_ID}-2" in status
    lib = library(page)
    assert "Impostor of the seed article" in lib and SEED_ID in lib and f"{SEED_ID}-2" in lib
    assert "Trump" in (corpus / f"{SEED_ID}.txt").read_text()  # the corpus file is untouched

    # 2. a bad file with the name of an earlier good upload touches neither it nor its file
    good = tmp_path / "weather-notes.md"
    good.write_text(_article("Brantwood weather notes", "Brantwood had its wettest April since 1911, with 190 mm."))
    assert "indexed as weather-notes" in upload(page, good)
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    (bad_dir / "weather-notes.md").write_bytes(b"\x00\x01binary" * 100)
    status = upload(page, bad_dir / "weather-notes.md")
    assert "skipped (binary file" in status and "weather-notes-2.md" in status
    assert "Brantwood weather notes" in library(page)
    assert "wettest April" in (uploads / "weather-notes.md").read_text()
    assert not (uploads / "weather-notes-2.md").exists()  # the refused file is not kept

    # 3. a JSONL with one duplicated id keeps the rest, now and on the next start
    lines = [{"id": "jl-a", "title": "Orrin dam opens", "text": "The Orrin dam opened on Monday after four years."},
             {"id": "jl-b", "title": "Orrin dam tolls", "text": "Tolls on the Orrin dam road start in May, at 2 euros."},
             {"id": "jl-a", "title": "Orrin dam again", "text": "A second record that reuses the id jl-a, wrongly."}]
    batch = tmp_path / "orrin.jsonl"
    batch.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    status = upload(page, batch)
    assert "line 3 skipped (duplicate article id 'jl-a'" in status and "indexed as jl-a, jl-b" in status
    assert (uploads / "orrin.jsonl").exists()
    lib = library(page)
    assert "Orrin dam opens" in lib and "Orrin dam tolls" in lib and "Orrin dam again" not in lib

    # what the next start does (serve re-ingests the corpus folder, pruning what is gone):
    # run that same ingest on a copy of the server's data, while the server is idle
    data = tmp_path / "restart-data"
    shutil.copytree(Path(server[2]), data)
    env = clean_env()
    p = subprocess.run([sys.executable, "-m", "qa_bot.cli", "-q", "--data-dir", str(data), "library", "--json"],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    before = {r["id"] for r in json.loads(p.stdout)}
    p = subprocess.run([sys.executable, "-m", "qa_bot.cli", "-q", "--data-dir", str(data), "ingest", str(corpus)],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0 and " 0 removed" in p.stdout, p.stdout + p.stderr
    p = subprocess.run([sys.executable, "-m", "qa_bot.cli", "-q", "--data-dir", str(data), "library", "--json"],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    after = {r["id"]: r["title"] for r in json.loads(p.stdout)}
    assert set(after) == before and after[f"{SEED_ID}-2"] == "Impostor of the seed article"

    # 4. removing one record of the uploaded JSONL takes out that record only, now and at the next start
    page.get_by_role("tab", name="Library").click()
    page.click("#qa-remove-id input")
    page.fill("#qa-remove-id input", "jl-b")
    page.get_by_role("option", name="jl-b", exact=True).click()
    page.get_by_role("button", name="Remove from index").click()
    page.wait_for_function("() => (document.querySelector('#qa-remove-status textarea')||{}).value", timeout=60_000)
    assert "took line 2 out of orrin.jsonl" in page.input_value("#qa-remove-status textarea")
    assert "jl-a" in (uploads / "orrin.jsonl").read_text() and "jl-b" not in (uploads / "orrin.jsonl").read_text()
    lib = library(page)
    assert "Orrin dam opens" in lib and "Orrin dam tolls" not in lib


def test_each_upload_is_sent_once_and_a_huge_one_is_refused(page, server, tmp_path):
    first = tmp_path / "kestrel-one.txt"
    first.write_text("Kestrel count rises\n\nVolunteers counted 41 kestrels on the Hallam moors this spring.\n")
    second = tmp_path / "kestrel-two.txt"
    second.write_text("Kestrel nest cameras\n\nTwo nest cameras on the Hallam moors stream kestrel chicks live.\n")
    assert "kestrel-one.txt: indexed" in upload(page, first)
    status = upload(page, second)
    assert "kestrel-two.txt: indexed" in status and "kestrel-one" not in status  # the first is not re-sent

    huge = tmp_path / "huge-story.txt"
    huge.write_text("A very long story.\n\n" + "The moor wind blew hard all day. " * 60_000)  # ~2 MB > 1 MB limit
    page.get_by_role("tab", name="Add articles").click()
    page.set_input_files("#qa-upload input[type=file]", str(huge))
    page.wait_for_function("() => /too large|exceed/i.test(document.body.innerText)", timeout=60_000)
    assert not (server[1] / "uploads" / "huge-story.txt").exists()
    assert "A very long story" not in library(page)


def test_a_url_in_the_add_tab_fetches_the_page_and_it_can_be_asked_about(page, server, site):  # noqa: F811
    page.get_by_role("tab", name="Add articles").click()
    before = page.input_value("#qa-add-status textarea")
    page.fill("#qa-url textarea, #qa-url input", f"{site}/story2.html")
    status = add_and_read_status(page, before)
    assert "indexed as ferry-runs-end-on-may-5" in status, status
    assert (server[1] / "web" / "ferry-runs-end-on-may-5.md").is_file()  # saved in the corpus, like an upload
    answer, sources = answer_and_first_source(page, "When will the ferry service end its runs?")
    assert "May 5" in answer and "Ferry runs end on May 5" in sources


def test_an_uploaded_pdf_is_indexed_and_its_citation_shows_the_page(page, tmp_path):
    from tests.test_more_ways_in import make_pdf

    pdf = make_pdf(tmp_path / "quay-report.pdf", [
        "The Quay Authority published its annual report on harbour traffic. " * 8,
        "The new Quay Authority director is Ines Okafor, who starts in June. " * 3,
    ], title="Quay Authority annual report")
    assert "indexed as quay-report" in upload(page, pdf)
    answer, sources = answer_and_first_source(page, "Who is the new Quay Authority director?")
    assert "Okafor" in answer and "Quay Authority annual report" in sources and "p. 2" in sources


def test_an_exposed_web_ui_fetches_only_public_addresses_unless_allowed():
    from qa_bot.access import fetch_public_only
    from qa_bot.config import load_settings

    assert not fetch_public_only(load_settings(host="127.0.0.1"))
    assert fetch_public_only(load_settings(host="0.0.0.0"))
    assert not fetch_public_only(load_settings(host="0.0.0.0", fetch_private=True))


def test_the_library_tab_registers_a_source_that_the_server_then_refreshes(page, server, newsroom):  # noqa: F811
    """A feed added in the Library tab is fetched by the server's background refresh (no one
    clicks anything else), shows its fetch and article count, and can be removed with them."""
    page.get_by_role("tab", name="Library").click()
    page.fill("#qa-source-url textarea, #qa-source-url input", f"{newsroom}/feed.xml")
    page.click("#qa-source-add")
    page.wait_for_function("() => document.querySelector('#qa-source-status textarea')?.value.includes('Added source')",
                           timeout=60_000)
    # the refresh runs in the server; the open page follows it, with no reload and no click
    page.wait_for_function("() => { const t = document.querySelector('#qa-sources-table')?.innerText;"
                           " return t && t.includes('feed') && !t.includes('never'); }", timeout=180_000)
    page.wait_for_function("() => document.querySelector('#qa-library')?.innerText.includes('Arlo funds a ferry pier')",
                           timeout=30_000)
    table = page.locator("#qa-sources-table").inner_text()
    assert f"{newsroom}/feed.xml" in table and "Arlo funds a ferry pier" in library(page)
    page.get_by_role("tab", name="Library").click()
    page.click("#qa-source-id input")
    page.get_by_role("option", name="1", exact=True).click()
    page.check("#qa-source-purge input")
    page.click("#qa-source-remove")
    page.wait_for_function("() => document.querySelector('#qa-source-status textarea')?.value.includes('Removed source')",
                           timeout=60_000)
    assert "2 of its articles" in page.input_value("#qa-source-status textarea")
    assert "Arlo funds a ferry pier" not in library(page)


def qa_cli(*args: str, data: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qa_bot.cli", "-q", "--data-dir", str(data), *args],
                          capture_output=True, text=True, env=clean_env(), cwd=ROOT, timeout=timeout)


def past_conversations(page) -> list[str]:
    """The Past conversations dropdown's choices, as the user sees them."""
    if not page.locator("#qa-past-list input").is_visible():
        page.locator("#qa-past").get_by_text("Past conversations").first.click()  # open the accordion
    page.locator("#qa-past-list input").click()
    page.wait_for_timeout(300)
    options = [o.inner_text().replace("✓", "").strip() for o in page.locator("ul[role=listbox] li").all()]
    page.keyboard.press("Escape")
    return options


def pick_past(page, label: str) -> None:
    page.locator("#qa-past-list input").click()
    page.locator("ul[role=listbox] li").filter(has_text=label).first.click()


def test_a_down_vote_in_the_browser_becomes_an_eval_case_that_runs(page, server, browser, tmp_path, output_dir):
    """Issue 22 end to end: ask, rate 👎 with the right answer in the browser, reopen and export the
    conversation, then `qa-bot feedback export --eval` and `qa-bot eval` on what came out."""
    url, corpus, data = server
    ask(page, "Who will travel to China for the next round of talks?")
    page.locator("#qa-chat .bot").last.hover()
    page.locator("#qa-chat button[aria-label='Dislike']").last.click()
    page.wait_for_selector("#qa-feedback-correction textarea", state="visible")
    page.fill("#qa-feedback-correction textarea", "Steven Mnuchin and Robert Lighthizer")
    page.fill("#qa-feedback-comment textarea", "give both full names")
    page.click("#qa-feedback-send")
    page.wait_for_function("() => /feedback is kept/.test(document.querySelector('#qa-feedback-status')?.innerText)")

    listed = qa_cli("feedback", "list", "--rating", "down", "--json", data=data)
    assert listed.returncode == 0, listed.stderr
    [rated] = [r for r in json.loads(listed.stdout) if r["comment"] == "give both full names"]
    assert rated["login"] == USER and rated["face"] == "web" and rated["rating"] == "down"
    assert rated["correction"] == "Steven Mnuchin and Robert Lighthizer"
    assert rated["settings"]["model"] and rated["settings"]["k"] and rated["settings"]["index_recipe"]
    assert rated["citations"][0]["article_id"] == SEED_ID and rated["citations"][0]["quote"]

    # the conversation is kept: listed, reopened with its sources panel, exported as Markdown
    [mine] = [c for c in past_conversations(page) if "Who will travel to China" in c]
    page.click("#qa-new")
    page.wait_for_function("() => document.querySelectorAll('#qa-chat .bot').length === 0")
    pick_past(page, mine)
    page.click("#qa-past-open")
    page.wait_for_function("() => document.querySelectorAll('#qa-chat .bot').length === 1")
    assert "Who will travel to China" in page.locator("#qa-chat").inner_text()
    assert page.locator("#qa-chat .bot a.qa-cite").count() >= 1  # the answer with its citation links
    assert "Lighthizer" in page.locator("#qa-sources").inner_text()  # the panel shows the cited passage
    with page.expect_download() as got:
        page.click("#qa-past-export")
        page.locator("#qa-past-file a").first.wait_for(timeout=30_000)
        page.locator("#qa-past-file a").first.click()
    md = Path(got.value.path()).read_text(encoding="utf-8")
    (output_dir / "conversation-export.md").write_text(md, encoding="utf-8")  # for a reader of the test output
    assert "**Question:** Who will travel to China" in md
    footnotes = [line for line in md.splitlines() if line.startswith("[^1-")]
    assert footnotes and all("China Vows to Buy More U.S. Goods" in f and "2019-" in f for f in footnotes)  # title, date
    assert any("Lighthizer" in f for f in footnotes)  # and the quoted span

    # the eval harness runs what the rating became
    export = qa_cli("feedback", "export", "--eval", "--rating", "down", data=data)
    assert export.returncode == 0, export.stderr
    cases = [json.loads(line) for line in export.stdout.splitlines()]
    [case] = [c for c in cases if c["answers"] == ["Steven Mnuchin and Robert Lighthizer"]]
    assert case["answerable"] and case["doc_ids"] == [SEED_ID]  # the seed article holds the correction
    (tmp_path / "cases.jsonl").write_text(json.dumps(case) + "\n")
    run = qa_cli("eval", str(tmp_path / "cases.jsonl"), "--corpus", str(corpus), "--judge", "lexical",
                 "--out", str(tmp_path / "out"), data=tmp_path / "eval-data")
    assert run.returncode == 0, run.stderr
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    [record] = results["records"]
    assert record["question"] == case["question"] and record["gold"] == case["answers"]
    assert record["retrieved"][0] == SEED_ID

    # deleted, it is gone from the list and from the journal; the rating stays
    pick_past(page, mine)
    page.click("#qa-past-delete")
    page.wait_for_function("() => /Deleted/.test(document.querySelector('#qa-past-status')?.innerText)")
    assert not [c for c in past_conversations(page) if c == mine]
    again = qa_cli("feedback", "list", "--json", data=data)
    assert any(r["comment"] == "give both full names" for r in json.loads(again.stdout))


def test_a_second_login_sees_none_of_the_first_logins_conversations(page, server, browser):
    ask(page, "When could the US raise tariffs on Chinese goods?")
    assert any("When could the US raise tariffs" in c for c in past_conversations(page))
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    other = ctx.new_page()
    login(other, server[0], OTHER, OTHER_PASSWORD)
    other.wait_for_selector("#qa-question textarea")
    assert past_conversations(other) == []
    ctx.close()
