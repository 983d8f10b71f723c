"""The leadership report in pieces: the summary sentence, the assumptions diff, sections, HTML, CLI errors.

Fast: every report here presents a small finished comparison built from a table; no
simulation, no kernel (those run in ``tests/functional/test_report_functional.py``).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from funnelsim import __version__, load_scenario
from funnelsim.cli import main
from funnelsim.experiments.compare import TABLE_COLUMNS, Comparison
from funnelsim.experiments.replicate import RUN_COLUMNS
from funnelsim.present.ab_report import SECTIONS, ABReport
from funnelsim.present.format import count, format_value
from funnelsim.present.html import NO_MATHS, frame_html, maths_spans, no_maths
from funnelsim.present.plots import speed_legend
from funnelsim.present.render import notebook_to_html
from funnelsim.present.widgets import SummaryFrame
from funnelsim.present.words import NO_CHANGE_NAME, assumptions_table, change_phrase, summary_sentences, what_if_name

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"


@pytest.fixture(scope="module")
def baseline():
    return load_scenario(SCENARIOS / "baseline.yaml")


def _row(kpi: str, base: float, diff: float, low: float, high: float, verdict: str = "B wins") -> dict:
    rel = (lambda x: x / base) if base else (lambda x: math.nan)
    return {"variant": "variant", "kpi": kpi, "label": kpi, "unit": "", "mean_baseline": base,
            "mean_variant": base + diff, "diff": diff, "ci_low": low, "ci_high": high, "rel_change": rel(diff),
            "rel_ci_low": rel(low), "rel_ci_high": rel(high), "p_value": 0.01, "p_adjusted": 0.01, "min_effect": 0.0,
            "verdict": verdict}


def _comparison(baseline, variant, won, revenue, cost) -> Comparison:
    table = pd.DataFrame([_row("won_deals", 100.0, *won), _row("revenue_per_month", 500_000.0, *revenue),
                          _row("total_cost", 4_000_000.0, *cost)], columns=list(TABLE_COLUMNS))
    runs = pd.DataFrame([{"scenario": "baseline", "scenario_hash": baseline.hash, "replication": 0, "seed": 1,
                          "kpi": "won_deals", "value": 100.0}], columns=list(RUN_COLUMNS))
    return Comparison(baseline=baseline, variants=[variant], runs=runs, table=table, replications=20,
                      seeds=list(range(20)), method="paired-t", precision=None, precision_reached=None)


def test_summary_sentence_with_a_clear_win_at_no_extra_cost(baseline) -> None:
    variant = load_scenario(SCENARIOS / "five_minute_sla.yaml").model_copy(update={"name": "variant"})
    c = _comparison(baseline, variant, (18.0, 11.0, 25.0), (60_000.0, 40_000.0, 80_000.0), (0.0, 0.0, 0.0))
    assert summary_sentences(c, baseline, [variant]) == [
        "Following up within 5 minutes instead of 1 hour raises won deals by 18% (95% CI 11–25%) and revenue by "
        "$60k a month (95% CI $40k–$80k), at no extra cost."]


def test_summary_sentence_is_honest_when_the_intervals_span_zero(baseline) -> None:
    variant = load_scenario(SCENARIOS / "five_minute_sla.yaml").model_copy(update={"name": "variant"})
    c = _comparison(baseline, variant, (3.0, -4.0, 10.0), (5_000.0, -8_000.0, 18_000.0), (0.0, 0.0, 0.0))
    (sentence,) = summary_sentences(c, baseline, [variant])
    assert sentence == ("Following up within 5 minutes instead of 1 hour makes no clear difference yet: won deals "
                        "+3.0% (95% CI −4.0% to +10%) and revenue +$5.0k a month (95% CI −$8.0k to +$18k) — both "
                        "ranges include no change — at no extra cost.")
    assert "raises" not in sentence and "lowers" not in sentence


def test_summary_sentence_with_more_cost_and_mixed_evidence(baseline) -> None:
    variant = load_scenario(SCENARIOS / "more_reps.yaml").model_copy(update={"name": "variant"})
    # two more reps at $9,000 a month over 12 months: $216,000 of cost, $18k a month
    c = _comparison(baseline, variant, (10.0, 5.0, 15.0), (20_000.0, -5_000.0, 45_000.0),
                    (216_000.0, 216_000.0, 216_000.0))
    (sentence,) = summary_sentences(c, baseline, [variant])
    assert sentence == ("Hiring 2 reps (6 instead of 4) raises won deals by 10% (95% CI 5.0–15%), while the effect "
                        "on revenue is not clear (revenue +$20k a month (95% CI −$5.0k to +$45k), a range that "
                        "includes no change), for $18k more in rep and lead cost per month of leads.")


def test_summary_sentence_when_the_variant_loses(baseline) -> None:
    variant = load_scenario(SCENARIOS / "daily_crm_pull.yaml").model_copy(update={"name": "variant"})
    c = _comparison(baseline, variant, (-12.0, -16.0, -8.0), (-50_000.0, -70_000.0, -30_000.0), (0.0, 0.0, 0.0))
    (sentence,) = summary_sentences(c, baseline, [variant])
    assert sentence.startswith("Routing leads in daily batches instead of as they arrive lowers won deals by 12% "
                               "(95% CI 8.0–16%) and revenue by $50k a month (95% CI $30k–$70k)")


@pytest.mark.parametrize("name, phrase", [
    ("five_minute_sla", "Following up within 5 minutes instead of 1 hour"),
    ("more_reps", "Hiring 2 reps (6 instead of 4)"),
    ("reclaim_untouched", "Taking back leads a rep leaves untouched 1 week (to the least-loaded rep)"),
    ("daily_crm_pull", "Routing leads in daily batches instead of as they arrive"),
    ("hot_lead_alerts", "Alerting sales the moment a nurtured lead clicks (hot-lead alerts)"),
    ("no_show_reschedule", "Reaching out up to 3 times to rebook a demo no-show instead of never"),
    ("score_first_queue", "Working the queue highest score first instead of newest first"),
    ("lead_cap_500", "Capping each rep at 500 open leads (instead of no cap)"),
])
def test_change_phrase_of_each_bundled_lever(baseline, name: str, phrase: str) -> None:
    assert change_phrase(baseline, load_scenario(SCENARIOS / f"{name}.yaml")) == phrase


def test_change_phrase_of_several_and_generic_changes(baseline) -> None:
    two = baseline.with_overrides(["follow_up.attempt_offsets=[0, 60]", "sources.0.cost_per_lead=99"])
    assert change_phrase(baseline, two) == ("Changing sources: web form: cost per lead from 120 to 99 and calling "
                                            "each lead up to 2 times instead of 6")
    many = baseline.with_overrides(["team.reps=7", "routing.at_cap=discard", "sla.first_touch_minutes=1440"])
    assert change_phrase(baseline, many) == "Changing 3 settings (see Assumptions)"


def test_assumptions_table_lists_only_the_differences(baseline) -> None:
    cap, more = load_scenario(SCENARIOS / "lead_cap_500.yaml"), load_scenario(SCENARIOS / "more_reps.yaml")
    table = assumptions_table([baseline, cap, more])
    assert list(table.columns) == ["field", "setting", "baseline", "lead_cap_500", "more_reps"]
    assert table["field"].tolist() == ["months", "routing.lead_cap", "team.reps"]
    assert table.set_index("field").loc["routing.lead_cap"].tolist() == ["Lead cap per rep", "no cap", "500", "no cap"]
    assert table.set_index("field").loc["team.reps", "more_reps"] == "6"
    cadence = assumptions_table([baseline, baseline.with_overrides(["follow_up.attempt_offsets=[0, 60]"])])
    row = cadence.set_index("field").loc["follow_up.attempt_offsets"]
    assert row["baseline"] == "6 calls, at 0, 30 minutes, 1 day, 2 days, 4 days, 6 days"
    assert row["baseline (1)"] == "2 calls, at 0, 1 hour"


def _finished_report(baseline, variant) -> ABReport:
    """A report of a small finished comparison: three replications of a few KPIs, no simulation."""
    kpis = {"leads": 1000.0, "mqls": 400.0, "contacted": 300.0, "won_deals": 100.0, "leak_lost": 50.0,
            "leak_unresponsive": 80.0, "revenue_per_month": 500_000.0, "total_cost": 4_000_000.0,
            "cost_per_acquisition": 40_000.0, "sla_compliance": 0.8, "speed_to_lead_median": 45.0}
    runs = pd.DataFrame([{"scenario": name, "scenario_hash": s.hash, "replication": r, "seed": 11 + r, "kpi": k,
                          "value": v * (1.1 if name == "variant" and k == "won_deals" else 1.0) + r}
                         for name, s in (("baseline", baseline), ("variant", variant)) for r in range(3)
                         for k, v in kpis.items()], columns=list(RUN_COLUMNS))
    c = _comparison(baseline, variant, (10.0, 5.0, 15.0), (20_000.0, 5_000.0, 35_000.0), (0.0, 0.0, 0.0))
    table = pd.concat([c.table, pd.DataFrame([_row("leak_unresponsive", 80.0, -5.0, -8.0, -2.0)])], ignore_index=True)
    comparison = Comparison(baseline=baseline, variants=[variant], runs=runs, table=table, replications=3,
                            seeds=[11, 12, 13], method="paired-t", precision=None, precision_reached=None)
    speed = {"baseline": np.array([3.0, 40.0, 90.0, np.inf]), "variant": np.array([1.0, 4.0, 30.0, 200.0])}
    return ABReport(comparison=comparison, paths=[SCENARIOS / "baseline.yaml", None], speed=speed, speed_seed=11)


def test_report_of_a_finished_comparison_has_every_section_and_chart(baseline) -> None:
    variant = load_scenario(SCENARIOS / "five_minute_sla.yaml").model_copy(update={"name": "variant"})
    report = _finished_report(baseline, variant)
    page = report.to_html()  # every section once: charts take most of this test's time
    assert re.findall(r'<h2 id="(\w+)">([^<]+)</h2>', page) == list(SECTIONS)
    sections = dict(zip([k for k, _ in SECTIONS], re.split(r'<h2 id="\w+">', page)[1:]))
    for key in ("verdict", "funnel", "leaks", "speed", "money"):
        assert sections[key].count('src="data:image/png;base64,') == 1, key
    assert report.title == "variant vs baseline" and "<title>variant vs baseline</title>" in page
    assert "Following up within 5 minutes instead of 1 hour raises won deals by 10%" in sections["summary"]
    assert "3 paired replications of 12 months of leads" in sections["summary"]
    assert "<td class='text'>scenarios/baseline.yaml</td>" in sections["provenance"]
    assert "(in memory: variant)" in sections["provenance"]
    assert f"<td class='text'>{__version__}</td>" in sections["provenance"]
    assert "Every call of the cadence went unanswered." in sections["leaks"] and "Never answered" in sections["leaks"]
    with pytest.raises(KeyError):
        report.section("appendix")


def test_report_escapes_what_it_shows(baseline) -> None:
    variant = load_scenario(SCENARIOS / "five_minute_sla.yaml").model_copy(
        update={"name": "variant", "description": "<script>alert(1)</script> & more"})
    assumptions = _finished_report(baseline, variant).section("assumptions")
    assert "<script>" not in assumptions and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in assumptions


def test_notebook_to_html_hides_code_stderr_and_skipped_cells() -> None:
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    intro = new_markdown_cell("For analysts only: how to run this")
    intro.metadata["tags"] = ["report-skip"]
    cell = new_code_cell("secret_code_line = 42", execution_count=1)
    cell.outputs = [new_output("stream", name="stderr", text="noisy warning"),
                    new_output("display_data", data={"text/html": "<h2 id='x'>Shown</h2>"})]
    nb.cells = [intro, cell, new_markdown_cell("Kept text")]
    page = notebook_to_html(nb, "My title")
    assert "Shown" in page and "Kept text" in page and "<title>My title</title>" in page
    assert "secret_code_line" not in page and "noisy warning" not in page and "For analysts only" not in page
    assert "<script src=" not in page and not re.search(r'(src|href)="(https?:)?//', page)


@pytest.mark.parametrize("argv, fragment", [
    (["scenarios/baseline.yaml", "scenarios/nope.yaml"], "nope.yaml: file not found"),
    (["scenarios/baseline.yaml", "scenarios/more_reps.yaml", "--min-effect", "won_dels=3"],
     "--min-effect: won_dels: unknown KPI (did you mean won_deals?)"),
    (["scenarios/baseline.yaml", "scenarios/more_reps.yaml", "--min-effect", "won_deals"], "must look like KPI=VALUE"),
    (["scenarios/baseline.yaml", "scenarios/more_reps.yaml", "--replications", "1"],
     "--replications: must be at least 2"),
    (["scenarios/baseline.yaml", "scenarios/more_reps.yaml", "--precision", "1.5"], "--precision:"),
    (["scenarios/baseline.yaml", "scenarios/more_reps.yaml", "--set", "team.repz=3"], "team.repz: unknown field"),
    (["scenarios/baseline.yaml", "scenarios/more_reps.yaml", "-o", "scenarios"], "--output: scenarios is a folder"),
])
def test_report_command_rejects_bad_input_in_one_line(argv: list[str], fragment: str, capsys, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["report", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("funnelsim: error: ") and fragment in err
    assert not (ROOT / "reports" / "baseline_vs_nope.html").exists()


# --------------------------------------------------------------------------- no front-end reads money as maths


def _unmarked(markup: str) -> str:
    return markup.replace("tex2jax_ignore", "").replace("mathjax_ignore", "")


def test_every_report_part_shown_in_a_notebook_is_marked_so_mathjax_leaves_money_alone(baseline) -> None:
    variant = load_scenario(SCENARIOS / "five_minute_sla.yaml").model_copy(update={"name": "variant"})
    report = _finished_report(baseline, variant)
    parts = {"header": report.header(), **{key: report.section(key) for key in ("summary", "verdict", "money")}}
    for key, markup in parts.items():
        assert markup.lstrip().startswith(f'<div class="funnelsim-report {NO_MATHS}">'), key
        assert maths_spans(markup) == [], key
    # the money is there: without the marks, MathJax would typeset "$20k a month (95% CI $5.0k–$35k)"
    assert maths_spans(_unmarked(parts["summary"])) and maths_spans(_unmarked(parts["verdict"]))
    page = report.to_html()
    assert maths_spans(page) == [] and "mathjax" not in page.lower().replace(NO_MATHS.split()[1], "")


def test_tables_we_render_are_marked_and_pandas_mathjax_is_off() -> None:
    frame = pd.DataFrame({"baseline": ["$500,000 ($480,000 – $520,000)"], "6 reps": ["$560,000 ($530k – $590k)"]})
    for markup in (frame_html(frame), SummaryFrame(frame)._repr_html_()):
        assert markup.startswith(f'<div class="{NO_MATHS}">') and maths_spans(markup) == []
        assert 'class="dataframe tex2jax_ignore' in markup  # display.html.use_mathjax off as well
    assert maths_spans(frame.to_html()) != []  # pandas' own HTML alone would be typeset
    assert pd.get_option("display.html.use_mathjax")  # switched off only while we render, not globally
    assert maths_spans("<p>cost $5 and $6</p>") == ["$5 and $"]
    assert maths_spans(no_maths("<p>cost $5 and $6</p>")) == []
    assert maths_spans('<style>a{x:"$"} b{y:"$"}</style><p>$ only one</p>') == []


def test_the_report_page_keeps_mathjax_out_and_drops_progress_widgets() -> None:
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                                "widgets": {"application/vnd.jupyter.widget-state+json": {"state": {}}}})
    cell = new_code_cell("report = build_report(...)", execution_count=1)
    cell.outputs = [new_output("display_data", data={"text/plain": "baseline: 100%|####| 3/3",
                                                     "application/vnd.jupyter.widget-view+json": {
                                                         "model_id": "abc", "version_major": 2, "version_minor": 0}}),
                    new_output("display_data", data={"text/html": no_maths("<p>revenue $60k ($40k–$80k)</p>")})]
    nb.cells = [cell]
    page = notebook_to_html(nb, "t")
    assert "revenue $60k" in page and "3/3" not in page and "MathJax.js" not in page and "mathjax.org" not in page
    assert maths_spans(page) == []


def test_one_count_format_for_tables_and_charts_and_short_what_if_names(baseline) -> None:
    assert count(15.333) == format_value("won_deals", 15.333) == "15.3"
    assert count(15.0) == "15" and count(1234.6) == format_value("mqls", 1234.6) == "1,235"
    assert speed_legend("6 reps", 84.66, 0.4812) == "6 reps (median 84.7 min, 48.1% within 1 h)"
    assert format_value("speed_to_lead_median", 84.66) == "84.7 min"
    more = baseline.with_overrides({"team.reps": 6, "sla.first_touch_minutes": 5.0, "name": "what_if"})
    assert what_if_name(baseline, more) == "6 reps, 5-min SLA"
    assert what_if_name(baseline, baseline.with_overrides({"name": "what_if"})) == NO_CHANGE_NAME
    capped = baseline.with_overrides({"routing.lead_cap": 50, "follow_up.attempt_offsets": [0, 30]})
    assert what_if_name(baseline, capped) == "cap of 50 leads, 2 calls"
