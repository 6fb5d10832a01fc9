"""A real browser: headless Debian Chromium driven by Playwright loads the app, detects, benchmarks."""
import shutil

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SEED = "马云在杭州阿里巴巴总部发表演讲"
SCREENSHOTS = __import__("pathlib").Path(__import__("tempfile").gettempdir()) / "raner-screenshots"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def page(server):
    sync_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which("chromium") and not shutil.os.path.exists(CHROMIUM):
        pytest.skip("Debian chromium is not installed (make browser-deps installs it)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        pg = context.new_page()
        outside = []
        pg.on("request", lambda r: outside.append(r.url) if not r.url.startswith((server, "data:", "blob:")) else None)
        pg.goto(server + "/", wait_until="networkidle")
        pg.outside_requests = outside
        yield pg
        browser.close()


def test_detect_tab_highlights_entities(page, tmp_path):
    import raner

    page.locator("#rl-input textarea").fill(SEED)
    page.locator("#rl-run").click()
    expected = raner.load().predict(SEED)
    assert expected, "the shipped model finds entities in the seed sentence"
    highlight = page.locator("#rl-highlight")
    for e in expected:
        highlight.get_by_text(e.text, exact=True).first.wait_for(timeout=20000)
    text = highlight.inner_text()
    for label in {e.type for e in expected}:
        assert label in text
    assert "processed" in page.locator("#rl-stats").inner_text()
    page.screenshot(path=str(tmp_path / "detect.png"), full_page=True)
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "detect.png"), full_page=True)


def test_compression_tab_tells_the_story_before_and_after_a_run(page, tmp_path):
    from playwright.sync_api import expect

    import raner

    page.get_by_role("tab", name="压缩对比 · Compression").click()
    default = raner.load().variant
    cards = page.locator("#rl-cards")
    expect(cards).to_contain_text("smaller", timeout=20000)
    expect(cards).to_contain_text("F1 points")
    expect(page.locator("#rl-stored")).to_contain_text(f"★ {default} (default)")
    expect(page.locator("#rl-guide")).to_contain_text("Which to pick")
    for plot in ("#rl-f1-latency", "#rl-f1-size"):  # drawn with the page, every variant named on the plot
        expect(page.locator(f"{plot} svg")).to_be_visible()
        expect(page.locator(f"{plot} svg .rl-point")).to_have_count(len(raner.load().variants))
        expect(page.locator(f"{plot} svg .rl-label", has_text=f"★ {default} (default)")).to_have_count(1)
    for hidden in ("#rl-bench-table", "#rl-live-plot", "#rl-diffs"):  # no empty boxes before a run
        expect(page.locator(hidden)).to_be_hidden()
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "compression-stored.png"), full_page=True)
    page.locator("#rl-bench-text textarea").fill("马云在杭州。")
    page.locator("#rl-repeats input[type=number]").fill("5")
    page.locator("#rl-bench-run").click()
    table = page.locator("#rl-bench-table")
    expect(table).to_contain_text("ms a sentence (median)", timeout=120000)
    for v in raner.load().variants:  # one result row per variant
        expect(table).to_contain_text(v, timeout=30000)
    expect(page.locator("#rl-live-plot svg .rl-point")).to_have_count(len(raner.load().variants))
    page.screenshot(path=str(tmp_path / "compression.png"), full_page=True)
    page.screenshot(path=str(SCREENSHOTS / "compression.png"), full_page=True)


def test_page_loads_nothing_from_outside(page):
    assert page.outside_requests == []


def test_bulk_tab_annotates_an_uploaded_file(page, tmp_path):
    from playwright.sync_api import expect

    src = tmp_path / "docs.txt"
    src.write_text("马云在杭州阿里巴巴总部发表演讲\n新华社北京电\n", encoding="utf-8")
    page.get_by_role("tab", name="批量标注 · Bulk").click()
    page.locator("#rl-upload input[type=file]").set_input_files(str(src))
    page.locator("#rl-bulk-run").click()
    expect(page.locator("#rl-bulk-summary")).to_contain_text("2 documents", timeout=60000)
    expect(page.locator("#rl-downloads")).to_contain_text(".jsonl", timeout=30000)  # one format a job, JSONL first
    page.screenshot(path=str(tmp_path / "bulk.png"), full_page=True)


def test_phone_width_pages_do_not_scroll_sideways_and_tables_are_whole(page, server, tmp_path):
    phone = page.context.browser.new_page(viewport={"width": 390, "height": 844})
    phone.goto(server + "/", wait_until="networkidle")
    phone.locator("#rl-input textarea").fill(SEED)
    phone.locator("#rl-run").click()
    phone.locator("#rl-stats").get_by_text("processed").wait_for(timeout=20000)
    phone.wait_for_timeout(500)
    widths = {"detect": phone.evaluate("document.documentElement.scrollWidth")}
    cut = phone.evaluate("""() => Array.from(document.querySelectorAll('#rl-table td *, #rl-table th *'))
        .filter(e => e.children.length === 0 && e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)""")
    assert cut == []  # no cell shows "马…" or "机构…"
    assert "PER" in phone.locator("#rl-table").inner_text()
    footer = phone.locator("footer").inner_text().strip()
    assert footer not in ("", "·") and not footer.endswith("·")
    SCREENSHOTS.mkdir(exist_ok=True)
    phone.screenshot(path=str(SCREENSHOTS / "detect-390.png"), full_page=True)
    phone.get_by_role("tab", name="压缩对比 · Compression").click()
    phone.wait_for_timeout(1500)
    widths["compression"] = phone.evaluate("document.documentElement.scrollWidth")
    phone.screenshot(path=str(SCREENSHOTS / "compression-390.png"), full_page=True)
    phone.close()
    assert all(w <= 390 for w in widths.values()), widths


def test_error_pills_are_dark(page):
    page.get_by_role("tab", name="实体侦测 · Detect").click()
    page.locator("#rl-input textarea").fill("字" * 20_001)
    page.locator("#rl-run").click()
    page.locator("#rl-stats .error, #rl-highlight .error, #rl-table .error").first.wait_for(timeout=15000)
    backgrounds = page.evaluate("""() => Array.from(document.querySelectorAll('.error'))
        .filter(e => !String(e.className).includes('toast'))
        .map(e => getComputedStyle(e).backgroundColor)""")
    assert backgrounds, "an error was shown"
    for bg in backgrounds:
        r, g, b = [int(float(x.strip(" )"))) for x in bg[bg.index("(") + 1 :].split(",")[:3]]
        assert r + g + b < 300, bg  # dark, not Gradio's near-white default
