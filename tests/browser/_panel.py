"""What a person sees of the what-if panel in a browser, and the checks both front-ends (JupyterLab, Voilà) share."""

from __future__ import annotations

import time
from typing import Any

from funnelsim.present.html import maths_spans

#: the longest the panel may take to redraw after a lever moves: an update re-simulates 2 replications of
#: half a month (about 1 s on one core; the bound leaves room for a CI machine whose other core is busy)
UPDATE_SECONDS = 10.0
#: a lever a user moves, and the choice they pick
LEVER = "First-touch SLA"
CHOICE = "5 minutes"
#: the what-if column's name while no lever is off the baseline
NO_CHANGE = "what-if (no change yet)"

_READ = """() => {
  const table = [...document.querySelectorAll('table')].find(t => t.querySelector('td[data-kpi]'));
  if (!table) return null;
  const names = [...table.querySelectorAll('th[data-scenario]')].map(th => th.textContent.trim());
  const cells = {};
  for (const td of table.querySelectorAll('td[data-kpi]')) {
    (cells[td.dataset.kpi] = cells[td.dataset.kpi] || []).push(td.textContent.trim());
  }
  const caption = document.querySelector('.funnelsim-speed-legend');
  const summary = document.querySelector('.funnelsim-summary');
  const button = [...document.querySelectorAll('button')].find(b => /Reset to baseline|Re-simulating/.test(b.textContent));
  const charts = [...document.querySelectorAll('img.widget-image')].filter(i => i.complete && i.naturalWidth > 0);
  return {names, cells, legend: caption ? caption.textContent.trim() : null, text: table.textContent,
          charts: charts.map(i => i.src),
          summary_names: summary ? [...summary.querySelectorAll('th[data-scenario]')].map(th => th.textContent.trim()) : null,
          busy: button ? /Re-simulating/.test(button.textContent) : null};
}"""

_MATHS = """() => {
  const outputs = [...document.querySelectorAll('.jp-OutputArea-output, .jp-RenderedHTMLCommon')];
  const typeset = [];
  for (const o of outputs) {
    for (const m of o.querySelectorAll('mjx-container, .MathJax, .MathJax_Display, .MathJax_Preview, script[type^="math/tex"]')) {
      typeset.push(m.textContent || m.outerHTML.slice(0, 200));
    }
  }
  return {typeset, markup: outputs.map(o => o.innerHTML)};
}"""


def read_panel(page: Any) -> dict[str, Any]:
    return page.evaluate(_READ)


def wait_for_panel(page: Any, timeout: float) -> dict[str, Any]:
    """Bounded wait until the panel (table, speed chart, legend) and the summary below it are shown; the panel."""
    try:
        page.wait_for_function(f"({_READ})() && ({_READ})().legend && ({_READ})().summary_names && "
                               f"({_READ})().busy === false",
                               timeout=timeout * 1000)
    except Exception as exc:  # playwright's TimeoutError: say what was seen
        raise AssertionError(f"the panel was not shown within {timeout:.0f} s; the page shows: "
                             f"{read_panel(page)}\n{page.inner_text('body')[-3000:]}") from exc
    return read_panel(page)


def expected_legend(panel: dict[str, Any]) -> str:
    """The speed chart's legend built from the table's own figures (what `plots.speed_legend` writes)."""
    medians, hours = panel["cells"]["speed_to_lead_median"], panel["cells"]["touched_within_1_hour"]
    return "Speed-to-lead: " + "; ".join(f"{name} (median {m}, {h} within 1 h)"
                                         for name, m, h in zip(panel["names"], medians, hours))


def check_agree(panel: dict[str, Any]) -> None:
    assert len(panel["names"]) == 2, f"the table should show baseline and what-if, got {panel['names']}"
    assert len(panel["charts"]) == 2, f"both charts (funnel, speed-to-lead) should be drawn, got {panel['charts']}"
    assert panel["legend"] == expected_legend(panel), (
        f"the speed chart's legend does not repeat the table's figures:\n legend: {panel['legend']}\n"
        f" table:  {expected_legend(panel)}")
    assert panel["summary_names"] == panel["names"], (
        f"the summary below the panel does not follow it: {panel['summary_names']} vs {panel['names']}")


def check_no_maths(page: Any) -> None:
    found = page.evaluate(_MATHS)
    assert found["typeset"] == [], f"MathJax typeset text in an output: {found['typeset'][:5]}"
    exposed = [span for markup in found["markup"] for span in maths_spans(markup)]
    assert exposed == [], f"text MathJax would typeset as maths ($…$ outside a no-maths element): {exposed[:5]}"


_WATCH_BUSY = """() => {
  window.__funnelsimBusy = [];
  const seen = () => {
    const b = [...document.querySelectorAll('button')].find(b => /Reset to baseline|Re-simulating/.test(b.textContent));
    if (b && /Re-simulating/.test(b.textContent)) window.__funnelsimBusy.push(b.disabled);
  };
  new MutationObserver(seen).observe(document.body, {subtree: true, childList: true, characterData: true,
                                                     attributes: true});
}"""


def _redraw(page: Any, before: dict[str, Any], name_is: str, what: str) -> None:
    """Bounded wait until the what-if column is named `name_is` (a JS test on `p.names[1]`), its legend says
    so, and both charts are drawn anew."""
    try:
        page.wait_for_function(
            f"() => {{ const p = ({_READ})(); return p && p.busy === false && ({name_is}) && "
            f"p.legend && p.legend.includes(p.names[1]) && p.charts.length === 2 && "
            f"p.charts.every(src => !{before['charts']!r}.includes(src)); }}", timeout=UPDATE_SECONDS * 1000)
    except Exception as exc:  # playwright's TimeoutError: say what was seen
        raise AssertionError(f"the panel did not redraw within {UPDATE_SECONDS:.0f} s of {what}: "
                             f"{read_panel(page)}") from exc


def move_lever(page: Any, before: dict[str, Any]) -> tuple[dict[str, Any], float]:
    """Pick CHOICE in the LEVER dropdown as a user does; wait (bounded) for the redraw; the panel and seconds.

    While the panel re-simulates, its button must say so and be disabled (the busy state reached the page).
    """
    box = page.locator(".widget-dropdown", has_text=LEVER).first
    select = box.locator("select")
    select.scroll_into_view_if_needed()
    page.evaluate(_WATCH_BUSY)
    started = time.monotonic()
    select.select_option(label=CHOICE)
    _redraw(page, before, f"p.names[1] !== {before['names'][1]!r}", f"choosing {CHOICE!r} for {LEVER!r}")
    seconds = time.monotonic() - started
    busy = page.evaluate("() => window.__funnelsimBusy")
    assert True in busy, f"the page never showed the busy state (a disabled 'Re-simulating…' button): {busy}"
    return read_panel(page), seconds


def reset(page: Any, before: dict[str, Any]) -> dict[str, Any]:
    """Click 'Reset to baseline'; wait (bounded) until the what-if column is the baseline again; the panel."""
    page.get_by_role("button", name="Reset to baseline").click()
    _redraw(page, before, f"p.names[1] === {NO_CHANGE!r}", "clicking 'Reset to baseline'")
    return read_panel(page)
