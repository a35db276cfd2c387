"""The built smoke book in a real browser: headless Chromium (Debian's ``chromium`` and
``chromium-driver``) driven by selenium, with the network off (only the local server answers).

Every HTML page of the book is loaded once and checked: no JavaScript console errors, every
image loaded, no raw ``\\(`` or ``\\[`` left in the rendered text (MathJax is served by the book
itself), nothing wider than the content column except inside deliberately scrollable boxes
(code, outputs, tables), and nothing fetched from another host. The search page must find
"Sobolev". The book is built once per session (``smoke_book.py``), shared with
``test_publish.py``.

Skipped only when no Chromium and chromedriver are installed; ``.ci/run`` installs them with
apt-get.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from pathlib import Path

import pytest

pytest_plugins = ["smoke_book"]

WIDTH, HEIGHT = 1400, 1000
PHONE = 420  # every page is also measured at a phone's width
SKIP_DIRS = {"_static", "_sources", "_images", "_sphinx_design_static", "_panels_static"}


def _browser_binaries() -> tuple[str | None, str | None]:
    browser = next((p for n in ("chromium", "chromium-browser", "google-chrome")
                    if (p := shutil.which(n))), None)
    return browser, shutil.which("chromedriver")


def pages(html: Path) -> list[Path]:
    """Every HTML page of the build (not the static assets, nor the redirecting index)."""
    return sorted(p for p in html.rglob("*.html")
                  if not (set(p.relative_to(html).parts) & SKIP_DIRS) and p.name != "index.html")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # no request lines in the test output
        pass


@pytest.fixture(scope="module")
def server(smoke_book):
    """The HTML folder on an HTTP server on 127.0.0.1 (search needs HTTP, not file://)."""
    handler = functools.partial(_QuietHandler, directory=str(smoke_book.html))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    path, driver_path = _browser_binaries()
    if not path or not driver_path:
        pytest.skip("no headless browser: Chromium and chromedriver are not installed "
                    "(apt-get install chromium chromium-driver; .ci/run does this)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = path
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                f"--window-size={WIDTH},{HEIGHT}", "--hide-scrollbars",
                # the network is off: every host but the local server is unreachable
                "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=127.0.0.1",
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                "--disable-background-networking", "--disable-component-update",
                "--no-first-run", "--disable-default-apps", "--disable-sync"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=opts, service=Service(driver_path))
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


# Run in the page after it loaded: wait for the images and for MathJax, then measure.
_SETTLE = """
const done = arguments[arguments.length - 1];
const imgs = [...document.images];
imgs.forEach(i => { i.loading = "eager"; });
const loaded = imgs.map(i => i.complete ? Promise.resolve()
    : new Promise(r => { i.addEventListener("load", r); i.addEventListener("error", r); }));
const math = (window.MathJax && MathJax.startup && MathJax.startup.promise)
    ? MathJax.startup.promise.then(() => "typeset") : Promise.resolve(window.MathJax ? "no-startup" : "none");
Promise.all([Promise.all(loaded), math]).then(r => done(r[1])).catch(e => done("error: " + e));
"""

_MEASURE = """
const article = document.querySelector("article.bd-article") || document.querySelector("main");
const box = article.getBoundingClientRect();
const scrolls = e => ["auto", "scroll", "hidden", "clip"].includes(getComputedStyle(e).overflowX);
const wide = [];
for (const el of article.querySelectorAll("*")) {
  const r = el.getBoundingClientRect();
  if (r.width === 0 || r.height === 0) continue;
  let inside = false;
  for (let a = el.parentElement; a && a !== article; a = a.parentElement) {
    if (scrolls(a)) { inside = true; break; }
  }
  if (inside) continue;
  if (r.right > box.right + 2 || r.left < box.left - 2) {
    wide.push(el.tagName.toLowerCase() + (el.className && typeof el.className === "string"
        ? "." + el.className.trim().split(/\\s+/).join(".") : "")
        + ` (${Math.round(r.left - box.left)}..${Math.round(r.right - box.left)} of `
        + `${Math.round(box.width)} px)`);
  }
}
const clone = document.body.cloneNode(true);
clone.querySelectorAll("pre, code, script, style, textarea, mjx-container, .MathJax, kbd")
     .forEach(e => e.remove());
const text = clone.textContent;
const raw = [];
for (const token of ["\\\\(", "\\\\["]) {
  let i = text.indexOf(token);
  if (i >= 0) raw.push(JSON.stringify(text.slice(Math.max(0, i - 40), i + 40)));
}
const origin = location.origin;
const foreign = performance.getEntriesByType("resource").map(e => e.name)
    .filter(n => !n.startsWith(origin) && !n.startsWith("data:"));
const images = [...document.images].map(
    i => ({src: i.getAttribute("src"), ok: i.complete && i.naturalWidth > 0}));
return {wide: wide.slice(0, 10), nwide: wide.length, raw, foreign, images,
        math: document.querySelectorAll("mjx-container").length};
"""


def _console_errors(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def _check(driver, url: str, rel: str, problems: list[str], counts: dict) -> None:
    driver.get(url)
    settled = driver.execute_async_script(_SETTLE)
    m = driver.execute_script(_MEASURE)
    width = driver.execute_script("return window.innerWidth")
    counts["pages"] += 1
    counts["images"] += len(m["images"])
    counts["math"] += m["math"]
    where = f"{rel} at {width} px"
    if str(settled).startswith("error"):
        problems.append(f"{where}: MathJax failed: {settled}")
    if errors := _console_errors(driver):
        problems.append(f"{where}: console errors: {errors}")
    if bad := [i["src"] for i in m["images"] if not i["ok"]]:
        problems.append(f"{where}: images not loaded: {bad}")
    if m["raw"]:
        problems.append(f"{where}: raw TeX in the rendered text: {m['raw']}")
    if m["nwide"]:
        problems.append(f"{where}: {m['nwide']} elements wider than the content column: "
                        f"{m['wide']}")
    if m["foreign"]:
        problems.append(f"{where}: fetched from other hosts: {m['foreign']}")


@pytest.mark.slow
def test_every_page_renders_offline(browser, server, smoke_book):
    found = pages(smoke_book.html)
    names = {p.relative_to(smoke_book.html).as_posix() for p in found}
    assert {"book/intro.html", "book/generated/theory.html", "book/references.html",
            "search.html"} <= names, names
    problems: list[str] = []
    counts = {"pages": 0, "images": 0, "math": 0}
    browser.get_log("browser")  # drop anything from before
    try:
        for width in (WIDTH, PHONE):
            browser.set_window_size(width, HEIGHT)
            for page in found:
                rel = page.relative_to(smoke_book.html).as_posix()
                _check(browser, f"{server}/{rel}", rel, problems, counts)
    finally:
        browser.set_window_size(WIDTH, HEIGHT)
    print(f"browser: {len(found)} pages at {WIDTH} and {PHONE} px: {counts['pages']} loads, "
          f"{counts['images']} images, {counts['math']} formulas typeset")
    assert counts["math"] > 0, "no formula was typeset: MathJax did not run"
    assert counts["images"] > 0
    assert not problems, "\n".join(problems)


@pytest.mark.slow
def test_search_finds_sobolev(browser, server):
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{server}/search.html?q=Sobolev")
    hits = WebDriverWait(browser, 30).until(
        lambda d: d.find_elements("css selector", "#search-results ul.search li"))
    titles = [h.text.split("\n")[0] for h in hits]
    assert len(hits) >= 2, titles
    assert any("Sobolev" in t or "Higher-order" in t for t in titles), titles
    assert not _console_errors(browser)
