"""Check a page with axe-core in light and dark, and keep a screenshot of each.

axe is injected through `page.evaluate` (the DevTools protocol), which our CSP
does not block; it checks the WCAG 2.0 and 2.1 A and AA rules and axe's best
practices in the light scheme, then the rules about colour again in the dark one
(the page is the same; only its colours change).
"""

from __future__ import annotations

from axe_playwright_python.base import AXE_SCRIPT
from playwright.sync_api import Page

from tests.browser.conftest import SCREENSHOTS

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
# The second scheme changes colours only, so only the rules about colour run again.
COLOUR_RULES = ["color-contrast", "link-in-text-block"]
SCHEMES = {
    "light": {"type": "tag", "values": TAGS},
    "dark": {"type": "rule", "values": COLOUR_RULES},
}

RUN = """async ([context, options]) => {
  const results = await axe.run(context || document, options);
  return results.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map((n) => ({target: n.target.join(" "), summary: n.failureSummary})),
  }));
}"""


UNDESCRIBED_ERRORS = """() => [...document.querySelectorAll('[aria-invalid="true"]')]
  .filter((field) => field.checkVisibility())
  .filter((field) => !(field.getAttribute("aria-describedby") || "").split(/\\s+/)
    .some((id) => id && document.getElementById(id)?.matches(".errors, [role=alert]")))
  .map((field) => field.id || field.name)"""


# axe 4.12 checks only the ids that ARIA points at; a page and its dialog can still clash.
DUPLICATE_IDS = """() => {
  const counts = {};
  for (const el of document.querySelectorAll("[id]")) counts[el.id] = (counts[el.id] || 0) + 1;
  return Object.keys(counts).filter((id) => counts[id] > 1);
}"""


def axe_violations(
    page: Page,
    *,
    run_only: dict = SCHEMES["light"],
    context: str | None = None,
    disable: dict | None = None,
):
    """Return axe's violations on the page as it is now (`disable`: rule id → reason)."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE_SCRIPT)
    options = {
        "runOnly": run_only,
        "resultTypes": ["violations"],
        "rules": {rule: {"enabled": False} for rule in disable or {}},
    }
    return page.evaluate(RUN, [context, options])


def report(name: str, scheme: str, violations: list[dict]) -> str:
    """Return the violations as lines a person can act on: rule, impact, where, what."""
    lines = [f"{name} ({scheme}): {len(violations)} axe rule(s) broken"]
    for violation in violations:
        lines.append(f"- {violation['id']} [{violation['impact']}]: {violation['help']}")
        for node in violation["nodes"]:
            summary = " ".join((node["summary"] or "").split())
            lines.append(f"    {node['target']}: {summary}")
    return "\n".join(lines)


def assert_accessible(
    page: Page,
    name: str,
    *,
    full_page: bool = True,
    context: str | None = None,
    disable: dict | None = None,
) -> None:
    """Fail unless axe finds nothing on the page in light and in dark; save both screenshots.

    Also fail if an id is used twice, or if a field marked invalid does not point
    at its error message through aria-describedby (axe checks neither).

    The page is left in the colour scheme it was in. `disable` maps a rule id to
    the reason it is a false positive here; use it for one rule at a time.
    """
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    was_dark = page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
    problems = []
    try:
        for scheme, run_only in SCHEMES.items():
            page.emulate_media(color_scheme=scheme)
            page.screenshot(path=SCREENSHOTS / f"a11y-{name}-{scheme}.png", full_page=full_page)
            violations = axe_violations(page, run_only=run_only, context=context, disable=disable)
            if violations:
                problems.append(report(name, scheme, violations))
        duplicates = page.evaluate(DUPLICATE_IDS)
        if duplicates:
            problems.append(f"{name}: ids used more than once: " + ", ".join(duplicates))
        undescribed = page.evaluate(UNDESCRIBED_ERRORS)
        if undescribed:
            problems.append(
                f"{name}: invalid fields without their error in aria-describedby: "
                + ", ".join(undescribed)
            )
    finally:
        page.emulate_media(color_scheme="dark" if was_dark else "light")
    assert not problems, "\n".join(problems)


FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const ringed = [el, el.parentElement, el.parentElement?.parentElement].some((node) => {
    if (!node) return false;
    const style = getComputedStyle(node);
    return style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2;
  });
  const box = el.getBoundingClientRect();
  const label = (el.getAttribute("aria-label") || el.innerText || el.value || el.name || "").trim();
  return {
    key: el.id || [el.tagName, label.slice(0, 40), Math.round(box.x + scrollX),
      Math.round(box.y + scrollY)].join(":"),
    name: `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""} "${label.slice(0, 40)}"`,
    ringed,
    onScreen: box.width > 0 && box.height > 0 && box.bottom > 0 && box.right > 0
      && box.top < innerHeight && box.left < innerWidth,
  };
}"""


def assert_focus_visible(page: Page, name: str, *, limit: int = 60) -> int:
    """Tab through the page: fail unless each stop shows a focus ring on screen; return the stops.

    The ring may sit on the element or on its wrapper (a pill around a radio).
    """
    seen: set[str] = set()
    problems = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused is None or focused["key"] in seen:
            break
        seen.add(focused["key"])
        if not focused["ringed"]:
            problems.append(f"    {focused['name']}: no focus ring")
        if not focused["onScreen"]:
            problems.append(f"    {focused['name']}: focused off screen")
    assert not problems, f"{name}: keyboard focus\n" + "\n".join(problems)
    return len(seen)
