"""Walk a signed-in (or not) reader's site and check every page at a phone's and a desktop's width.

``crawl()`` follows same-origin links from the home page, GET only, one page per kind of address
(``/books/12/emma`` and ``/books/13/persuasion`` are the same page to check), up to a cap. On each
page, at each width, ``check_page()`` asks what a reader would notice:

- the page scrolls sideways (``scrollWidth`` wider than the window);
- axe-core finds a serious or critical accessibility violation;
- a navigation link, button or page link is less than 44px high on a phone;
- the <title> is only the site's name, so the tab and the history do not say which page it is;
- a same-origin request of the page (a stylesheet, the icon, an htmx fragment) failed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

from playwright.sync_api import BrowserContext, Page

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core-4.14.1" / "axe.min.js"
PHONE = {"width": 360, "height": 640}
DESKTOP = {"width": 1280, "height": 800}
SITE_NAME = "Book Commerce"
PAGE_CAP = 60

# Addresses a crawler must not open: leaving (log out), files (CSV ledgers), the JSON API, media.
SKIP = re.compile(r"^/(api/|static/|media/|metrics|auth/logout|.*\.(csv|json|pdf|png|jpg|svg)$)")
# One page per kind of address: numbers and slugs (a segment with a dash) stand for any.
NUMBER = re.compile(r"\d+")


def kind_of(path: str) -> str:
    segments = [NUMBER.sub("N", part) for part in path.split("/")]
    return "/".join("*" if "-" in part and i > 1 else part for i, part in enumerate(segments))


@dataclass
class Report:
    """What went wrong, page by page: ``problems`` lines read "<where> <url>: <what>"."""

    visited: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def add(self, where: str, url: str, what: str) -> None:
        self.problems.append(f"{where} {url}: {what}")


def prepare(context: BrowserContext) -> None:
    """Every page of ``context`` gets axe-core before its own scripts (the CSP does not apply)."""
    context.add_init_script(path=str(AXE))


def links_on(page: Page, origin: str) -> list[str]:
    """Same-origin links a reader can follow with a GET: no downloads, no skipped addresses."""
    hrefs = page.eval_on_selector_all("a[href]:not([download])", "links => links.map(link => link.href)")
    found = []
    for href in hrefs:
        url = urldefrag(href).url
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" != origin or SKIP.match(parts.path):
            continue
        found.append(url)
    return found


def check_page(page: Page, where: str, url: str, report: Report) -> None:
    """The checks at the page's current window size."""
    width = page.viewport_size["width"]
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    if scroll_width > width:
        wide = page.evaluate(WIDEST_ELEMENTS, width)
        report.add(where, url, f"scrolls sideways: {scroll_width}px in a {width}px window (too wide: {wide})")
    if width <= PHONE["width"]:
        small = page.evaluate(SMALL_TAP_TARGETS)
        if small:
            report.add(where, url, f"tap targets under 44px high: {small}")
    title = page.title().strip()
    if not title or title in (SITE_NAME, f"{SITE_NAME} · {SITE_NAME}"):
        report.add(where, url, f"the title {title!r} does not name the page")
    for found in page.evaluate(AXE_RUN):
        report.add(where, url, f"axe {found['impact']} {found['id']}: {found['help']} ({found['nodes']})")


AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations
    .filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(", ")}));
}"""

# Navigation links, buttons and pagination must be easy to hit with a thumb.
SMALL_TAP_TARGETS = """() => {
  const small = [];
  const selector = ".site-menu summary, .site-menu a, .site-menu button, .site-footer nav a, .pagination a, "
                 + "main button, main [role=button], main summary[role=button]";
  for (const el of document.querySelectorAll(selector)) {
    const box = el.getBoundingClientRect();
    if (box.width > 0 && box.height > 0 && box.height < 44) {
      small.push(`${el.tagName.toLowerCase()} "${el.textContent.trim().slice(0, 30)}" ${Math.round(box.height)}px`);
    }
  }
  return small.slice(0, 5).join(", ");
}"""

WIDEST_ELEMENTS = """width => {
  const wide = [];
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    const folded = el.closest("details:not([open])") && !el.closest("summary");  // laid out, never shown
    if (!folded && box.right > width + 1 && box.width > 0) {
      const classes = typeof el.className === "string" ? el.className.trim().split(/\\s+/).join(".") : "";
      wide.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (classes ? "." + classes : ""));
    }
    if (wide.length >= 4) break;
  }
  return wide.join(", ");
}"""


def crawl(context: BrowserContext, base_url: str, where: str, widths=(PHONE, DESKTOP), cap: int = PAGE_CAP) -> Report:
    """Visit up to ``cap`` kinds of page reachable from the home page; check each at every width."""
    report = Report()
    origin = f"{urlsplit(base_url).scheme}://{urlsplit(base_url).netloc}"
    page = context.new_page()
    failed: list[str] = []
    page.on(
        "response",
        lambda response: (
            failed.append(f"{response.status} {response.url}")
            if response.status >= 400 and response.url.startswith(origin)
            else None
        ),
    )
    queue = [f"{origin}/"]
    seen_kinds = {kind_of("/")}
    try:
        while queue and len(report.visited) < cap:
            url = queue.pop(0)
            failed.clear()
            page.set_viewport_size(widths[0])
            response = page.goto(url, wait_until="load")
            report.visited.append(url)
            if response is None or response.status >= 400:
                report.add(where, url, f"answered {response.status if response else 'nothing'}")
                continue
            for size in widths:
                page.set_viewport_size(size)
                check_page(page, f"{where} {size['width']}px", url, report)
            for missing in failed:
                report.add(where, url, f"a request failed: {missing}")
            for link in links_on(page, origin):
                kind = kind_of(urlsplit(link).path)
                if kind not in seen_kinds:
                    seen_kinds.add(kind)
                    queue.append(link)
    finally:
        page.close()
    return report
