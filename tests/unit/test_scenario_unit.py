"""Scenario files: loading, `extends`, `--set` overrides, durations, errors and the content hash."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from funnelsim.errors import FunnelsimError, InputError, ScenarioError
from funnelsim.scenario import (
    MINUTES_PER_DAY,
    MINUTES_PER_MONTH,
    Scenario,
    apply_overrides,
    load_scenario,
    parse_duration,
    scenario_from_dict,
)

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
BASELINE = SCENARIOS / "baseline.yaml"

BUNDLED = sorted(SCENARIOS.glob("*.yaml")) + sorted((SCENARIOS / "validation").glob("*.yaml"))

#: each bundled variant of the baseline changes exactly one lever, and no variant behaves as the
#: baseline does.
VARIANT_LEVERS = {
    "five_minute_sla": {"sla.first_touch_minutes"},
    "more_reps": {"team.reps"},
    "lead_cap_500": {"routing.lead_cap"},
    "reclaim_untouched": {"routing.reclaim_untouched_days"},
    "score_first_queue": {"team.queue_order"},
    "hot_lead_alerts": {"nurture.hot_lead_alerts"},
    "no_show_reschedule": {"demo.reschedule_attempts"},
    "daily_crm_pull": {"routing.mode"},
}


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def leaves(data: Any, prefix: str = "") -> dict[str, Any]:
    """Every scalar in a nested mapping, keyed by its dotted --set path."""
    if isinstance(data, dict):
        items = data.items()
    elif isinstance(data, list):
        items = ((str(i), v) for i, v in enumerate(data))
    else:
        return {prefix: data}
    out: dict[str, Any] = {}
    for key, value in items:
        out.update(leaves(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def changed_fields(a: Scenario, b: Scenario) -> set[str]:
    la, lb = leaves(a.behaviour_dict()), leaves(b.behaviour_dict())
    return {k for k in la.keys() | lb.keys() if la.get(k, "<absent>") != lb.get(k, "<absent>")}


# --------------------------------------------------------------------------- bundled scenarios


def test_bundled_scenarios_exist() -> None:
    names = {p.stem for p in BUNDLED}
    assert {"baseline", "mmc", *VARIANT_LEVERS} <= names


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_every_bundled_scenario_loads(path: Path) -> None:
    scenario = load_scenario(path)
    assert isinstance(scenario, Scenario)
    assert scenario.name
    assert len(scenario.hash) == 16 and int(scenario.hash, 16) >= 0


@pytest.mark.parametrize("name", sorted(VARIANT_LEVERS))
def test_each_variant_changes_exactly_its_lever(name: str) -> None:
    baseline = load_scenario(BASELINE)
    variant = load_scenario(SCENARIOS / f"{name}.yaml")
    assert VARIANT_LEVERS[name], "a variant that changes nothing should be removed (issue 8)"
    assert changed_fields(baseline, variant) == VARIANT_LEVERS[name]
    assert variant.hash != baseline.hash


def test_every_bundled_variant_of_the_baseline_is_listed_with_its_lever() -> None:
    """A new or renamed variant must say which lever it changes; a removed one must leave the list."""
    variants = {p.stem for p in SCENARIOS.glob("*.yaml")} - {"baseline", "perishable"}
    assert variants == set(VARIANT_LEVERS)
    assert not (SCENARIOS / "no_lead_cap.yaml").exists()  # the baseline has no cap: it would be the baseline


def test_variant_levers_have_the_values_their_names_promise() -> None:
    def load(name: str) -> Scenario:
        return load_scenario(SCENARIOS / f"{name}.yaml")

    assert load("five_minute_sla").sla.first_touch_minutes == 5.0
    more = load("more_reps").team
    assert more.reps == 6
    assert more.rep_tiers() == [0, 0, 1, 1, 1, 1]  # the two hires join the last (junior) tier
    cap = load("lead_cap_500").routing
    assert (cap.lead_cap, cap.at_cap, cap.reclaim_untouched_days) == (500, "nurture", None)
    assert load("reclaim_untouched").routing.reclaim_untouched_days == 7.0
    assert load("score_first_queue").team.queue_order == "highest_score"
    assert load("hot_lead_alerts").nurture.hot_lead_alerts is True
    assert load("no_show_reschedule").demo.reschedule_attempts == 3
    daily = load("daily_crm_pull").routing
    assert (daily.mode, daily.batch_times) == ("batched", ["09:00"])


def test_baseline_has_the_published_defaults() -> None:
    s = load_scenario(BASELINE)
    volume = sum(src.leads_per_month for src in s.sources)
    assert volume == 4000
    legit = sum(src.leads_per_month * src.legitimate_share for src in s.sources) / volume
    assert legit == pytest.approx(0.25, abs=0.01)
    blended_cost = sum(src.leads_per_month * src.cost_per_lead for src in s.sources) / volume
    assert blended_cost == pytest.approx(140, abs=5)
    assert s.team.reps == 4
    assert [(t.name, t.reps, t.routing_weight, t.speed) for t in s.team.tiers] == [
        ("senior", 2, 2.5, 1.2), ("junior", 2, 1.0, 0.9)]
    assert s.team.rep_tiers() == [0, 0, 1, 1]
    assert s.marketing.mql_threshold == 45
    assert [p.name for p in s.leads.personas] == ["ops_leader", "founder", "smb_owner", "researcher"]
    assert (s.nurture.review_days, s.nurture.hot_lead_alerts) == (7, False)
    assert (s.leads.reachable_legitimate, s.leads.reachable_junk) == (0.75, 0.35)
    assert s.follow_up.answer_probability == 0.40
    assert s.follow_up.attempt_offsets == [0.0, 30.0, 1440.0, 2880.0, 5760.0, 8640.0]
    assert s.follow_up.ageing_days == 120
    assert (s.routing.lead_cap, s.routing.reclaim_untouched_days) == (None, None)  # no cap: reps hoard
    assert (s.speed_to_lead.p_durable, s.speed_to_lead.p_perishable) == (0.30, 0.55)
    # no-shows are never won back: no reach-out to rebook them
    assert (s.demo.no_show_probability, s.demo.reschedule_attempts, s.demo.reschedule_success) == (0.2, 0, 0.5)
    assert s.demo.opportunity_rate == 0.75
    assert s.opportunities.win_rate == 0.22
    assert s.opportunities.cycle_days_median == 60
    assert s.opportunities.deal_value_median == 25_000
    assert s.months == 12
    assert s.horizon_minutes == pytest.approx(12 * MINUTES_PER_MONTH)
    assert MINUTES_PER_MONTH == pytest.approx(365.25 / 12 * MINUTES_PER_DAY)


def test_mmc_scenario_is_an_mmc_queue() -> None:
    s = load_scenario(SCENARIOS / "validation" / "mmc.yaml")
    assert [src.legitimate_share for src in s.sources] == [1.0]
    assert set(s.arrivals.hourly_profile) == {1} and set(s.arrivals.weekday_profile) == {1}
    assert (s.team.working_hours, len(s.team.working_days)) == ("00:00-24:00", 7)
    assert (s.routing.policy, s.routing.lead_cap, s.team.queue_order) == ("shared_queue", None, "oldest_first")
    assert s.follow_up.attempt_offsets == [0.0] and s.follow_up.answer_probability == 1.0
    assert s.follow_up.ageing_days is None and s.marketing.handoff_minutes == 0


# --------------------------------------------------------------------------- extends


def test_extends_merges_mappings_and_replaces_lists(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", """
name: base
sources:
  - {name: a, leads_per_month: 100, legitimate_share: 0.5}
  - {name: b, leads_per_month: 200}
team: {reps: 4, working_days: [mon, tue, wed], queue_order: oldest_first}
demo: {no_show_probability: 0.3}
""")
    write(tmp_path, "child.yaml", """
extends: base.yaml
sources:
  - {name: c, leads_per_month: 50}
team: {reps: 6}
""")
    write(tmp_path, "grandchild.yaml", """
extends: child.yaml
name: grandchild
team: {working_days: [sat]}
""")
    child = load_scenario(tmp_path / "child.yaml")
    assert child.team.reps == 6  # overridden
    assert child.team.working_days == ["mon", "tue", "wed"]  # merged from the parent
    assert child.team.queue_order == "oldest_first"
    assert child.demo.no_show_probability == 0.3  # untouched section inherited whole
    assert [s.name for s in child.sources] == ["c"]  # a list replaces, it does not merge
    assert child.sources[0].legitimate_share == 0.25  # the model default, not the parent's item
    grand = load_scenario(tmp_path / "grandchild.yaml")
    assert grand.name == "grandchild"
    assert grand.team.reps == 6 and grand.team.working_days == ["sat"]
    assert grand.team.queue_order == "oldest_first"


def test_extends_is_relative_to_the_extending_file(tmp_path: Path) -> None:
    (tmp_path / "variants").mkdir()
    write(tmp_path, "base.yaml", "team: {reps: 3}\n")
    write(tmp_path / "variants", "v.yaml", "extends: ../base.yaml\nsla: {first_touch_minutes: 5m}\n")
    v = load_scenario(tmp_path / "variants" / "v.yaml")
    assert (v.team.reps, v.sla.first_touch_minutes) == (3, 5.0)


def test_extending_the_baseline_with_nothing_is_the_baseline(tmp_path: Path) -> None:
    path = write(tmp_path, "same.yaml", f"extends: {BASELINE}\nname: same\n")
    same = load_scenario(path)
    assert same.name == "same"
    assert same.hash == load_scenario(BASELINE).hash
    assert same.behaviour_dict() == load_scenario(BASELINE).behaviour_dict()


def test_name_defaults_to_the_file_name(tmp_path: Path) -> None:
    assert load_scenario(write(tmp_path, "my_company.yaml", "team: {reps: 2}\n")).name == "my_company"


# --------------------------------------------------------------------------- --set overrides


def test_overrides_of_dotted_paths_including_list_items() -> None:
    base = load_scenario(BASELINE)
    s = load_scenario(BASELINE, [
        "team.reps=10",
        "sla.first_touch_minutes=5m",
        "sources.0.leads_per_month=900",
        "follow_up.ageing_days=null",
        "routing.lead_cap=300",
        "team.working_days=[mon, wed]",
        "follow_up.attempt_offsets.1=1h",
        "leads.personas.2.share=0.4",
        "arrivals.hourly_profile.3=0",
        "nurture.hot_lead_alerts=true",
        "name=renamed",
    ])
    assert s.team.reps == 10
    assert s.sla.first_touch_minutes == 5.0
    assert [src.leads_per_month for src in s.sources] == [900] + [src.leads_per_month for src in base.sources[1:]]
    assert s.sources[0].name == base.sources[0].name  # the rest of the item is kept
    assert base.follow_up.ageing_days == 120 and s.follow_up.ageing_days is None  # YAML null
    assert s.routing.lead_cap == 300
    assert s.team.working_days == ["mon", "wed"]
    assert s.follow_up.attempt_offsets[:3] == [0.0, 60.0, 1440.0]
    assert s.leads.personas[2].share == 0.4
    assert s.arrivals.hourly_profile[3] == 0.0 and s.arrivals.hourly_profile[4] == base.arrivals.hourly_profile[4]
    assert s.nurture.hot_lead_alerts is True
    assert s.name == "renamed"
    assert changed_fields(base, s) == {
        "team.reps", "sla.first_touch_minutes", "sources.0.leads_per_month", "follow_up.ageing_days",
        "routing.lead_cap",
        "team.working_days.1", "team.working_days.2", "team.working_days.3",
        "team.working_days.4", "follow_up.attempt_offsets.1", "leads.personas.2.share",
        "arrivals.hourly_profile.3", "nurture.hot_lead_alerts",
    }


def test_later_overrides_win_and_dict_overrides_work() -> None:
    s = load_scenario(BASELINE, ["team.reps=3", "team.reps=5"])
    assert s.team.reps == 5
    assert load_scenario(BASELINE, {"team.reps": 7, "sources.1.cost_per_lead": 99.5}).sources[1].cost_per_lead == 99.5


def test_with_overrides_equals_loading_with_overrides(short_baseline: Scenario) -> None:
    a = short_baseline.with_overrides(["team.reps=10", "sources.0.leads_per_month=900"])
    b = load_scenario(BASELINE, ["months=1", "team.reps=10", "sources.0.leads_per_month=900"])
    assert a.hash == b.hash and a.team.reps == 10
    assert short_baseline.team.reps == 4  # the original is unchanged


def test_apply_overrides_does_not_touch_its_input() -> None:
    data = {"team": {"reps": 1}, "sources": [{"name": "a", "leads_per_month": 1}]}
    out = apply_overrides(data, ["team.reps=2", "sources.0.name=b", "sla.first_touch_minutes=5"])
    assert data == {"team": {"reps": 1}, "sources": [{"name": "a", "leads_per_month": 1}]}
    assert out == {"team": {"reps": 2}, "sources": [{"name": "b", "leads_per_month": 1}],
                   "sla": {"first_touch_minutes": 5}}


@pytest.mark.parametrize(("override", "field", "words"), [
    ("team.repz=3", "team.repz", "unknown field"),
    ("team.reps=ten", "team.reps", "integer"),
    ("team.reps=-1", "team.reps", "greater than or equal to 0"),
    ("routing.lead_cap=0", "routing.lead_cap", "greater than or equal to 1"),
    ("demo.no_show_probability=1.5", "demo.no_show_probability", "less than or equal to 1"),
    ("sources.0.leads_per_month=-5", "sources[0].leads_per_month", "greater than or equal to 0"),
    ("sources.9.leads_per_month=5", "sources.9", "no item '9'"),
    ("sources.first.name=x", "sources.first", "no item 'first'"),
    ("team.reps.count=3", "team.reps", "no sub-fields"),
    ("sla.first_touch_minutes=-5m", "sla.first_touch_minutes", "duration"),
    ("routing.policy=random", "routing.policy", "round_robin"),
    ("team.working_hours=17:00-09:00", "team.working_hours", "after the start"),
])
def test_bad_override_names_the_option_and_the_field(override: str, field: str, words: str) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(BASELINE, [override])
    err = info.value
    assert err.field == field
    assert words in err.message
    assert "--set" in err.source and "baseline.yaml" in err.source
    assert "\n" not in str(err) and str(err).startswith(err.source)


@pytest.mark.parametrize("override", ["team.reps", "=5", " =5"])
def test_malformed_override_text(override: str) -> None:
    with pytest.raises(ScenarioError, match="field"):
        load_scenario(BASELINE, [override])


# --------------------------------------------------------------------------- errors in files


BAD_FILES = {
    # case: (file text, field path (None: the whole file), words in the message)
    "unknown_field": ("team:\n  repz: 3\n", "team.repz", "unknown field"),
    "unknown_top_level_field": ("teams: {reps: 3}\n", "teams", "unknown field"),
    "wrong_type": ("team:\n  reps: ten\n", "team.reps", "integer"),
    "wrong_type_section": ("team: 8\n", "team", "dictionary"),
    "negative_reps": ("team:\n  reps: -1\n", "team.reps", "greater than or equal to 0"),
    "too_many_reps": ("team:\n  reps: 10001\n", "team.reps", "less than or equal to 10000"),
    "negative_tier_reps": ("team:\n  tiers: [{name: a, reps: -1}]\n", "team.tiers[0].reps",
                           "greater than or equal to 0"),
    "zero_lead_cap": ("routing: {lead_cap: 0}\n", "routing.lead_cap", "greater than or equal to 1"),
    "probability_above_one": ("demo:\n  no_show_probability: 1.5\n", "demo.no_show_probability",
                              "less than or equal to 1"),
    "negative_probability": ("follow_up: {answer_probability: -0.1}\n", "follow_up.answer_probability",
                             "greater than or equal to 0"),
    "bad_list_item": ("sources:\n  - {name: a, leads_per_month: -3}\n", "sources[0].leads_per_month",
                      "greater than or equal to 0"),
    "missing_list_field": ("sources:\n  - {name: a}\n", "sources[0].leads_per_month", "required"),
    "nan_volume": ("sources:\n  - {name: a, leads_per_month: .nan}\n", "sources[0].leads_per_month", "finite"),
    "bad_duration": ("sla: {first_touch_minutes: soon}\n", "sla.first_touch_minutes", "not a duration"),
    "bad_weekday": ("team: {working_days: [mon, funday]}\n", "team.working_days[1]", "mon"),
    "short_hourly_profile": ("arrivals: {hourly_profile: [1, 2, 3]}\n", "arrivals.hourly_profile", "24"),
    "probabilities_sum_above_one": ("speed_to_lead: {p_durable: 0.6, p_perishable: 0.6}\n", "speed_to_lead",
                                    "must not exceed 1"),
    "duplicate_sources": ("sources: [{name: a, leads_per_month: 1}, {name: a, leads_per_month: 2}]\n", "sources",
                          "unique"),
    "first_offset_not_zero": ("follow_up: {attempt_offsets: [5, 30]}\n", "follow_up.attempt_offsets", "0"),
    "missing_extends_target": ("extends: nope.yaml\n", "extends", "not found"),
    "extends_not_text": ("extends: [a.yaml]\n", "extends", "path of another scenario"),
    "yaml_syntax_error": ("team: [1,\n", None, "YAML syntax error at line"),
    "yaml_bad_indent": ("team:\n  reps: 3\n bad: 1\n", None, "YAML syntax error"),
    "non_mapping_list": ("- 1\n- 2\n", None, "mapping"),
    "non_mapping_scalar": ("42\n", None, "mapping"),
    "empty_file": ("", None, "empty"),
    "only_comments": ("# nothing here\n", None, "empty"),
    "non_text_key": ("team: {1: 2}\n", None, "text"),
    "python_object_tag": ("team: !!python/object:os.system {}\n", None, "python/object"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_file_raises_scenario_error_naming_file_and_field(tmp_path: Path, case: str) -> None:
    text, field, words = BAD_FILES[case]
    path = write(tmp_path, f"{case}.yaml", text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    err = info.value
    assert isinstance(err, InputError) and isinstance(err, FunnelsimError) and err.exit_code == 2
    assert f"{case}.yaml" in err.source
    assert err.field == field
    assert words in err.message
    message = str(err)
    assert "\n" not in message
    assert f"{case}.yaml" in message and (field is None or f": {field}: " in message)


def test_cycle_in_extends(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "extends: b.yaml\n")
    write(tmp_path, "b.yaml", "extends: c.yaml\n")
    write(tmp_path, "c.yaml", "extends: a.yaml\n")
    write(tmp_path, "self.yaml", "extends: self.yaml\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "a.yaml")
    assert info.value.field == "extends"
    assert "cycle in extends: a.yaml -> b.yaml -> c.yaml -> a.yaml" in str(info.value)
    with pytest.raises(ScenarioError, match="cycle in extends: self.yaml -> self.yaml"):
        load_scenario(tmp_path / "self.yaml")


def test_error_in_a_parent_names_the_parent(tmp_path: Path) -> None:
    write(tmp_path, "parent.yaml", "team: {reps: [1}\n")
    write(tmp_path, "child.yaml", "extends: parent.yaml\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "child.yaml")
    assert info.value.source.endswith("parent.yaml")
    assert "YAML syntax error" in info.value.message


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="file not found") as info:
        load_scenario(tmp_path / "absent.yaml")
    assert "absent.yaml" in str(info.value)
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path)


def test_yaml_is_read_with_a_safe_loader(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = write(tmp_path, "evil.yaml", f'team: !!python/object/apply:os.system ["touch {marker}"]\n')
    with pytest.raises(ScenarioError, match="python/object/apply"):
        load_scenario(path)
    assert not marker.exists()


def test_scenario_from_dict_rejects_non_mappings_and_names_its_source() -> None:
    with pytest.raises(ScenarioError, match="mapping") as info:
        scenario_from_dict([1, 2], "api-call")
    assert info.value.source == "api-call"
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict({"team": {"reps": -2}}, "api-call")
    assert (info.value.source, info.value.field) == ("api-call", "team.reps")


def test_zero_reps_is_a_valid_extreme_condition(tmp_path: Path) -> None:
    """No reps at all is allowed (nothing is contacted): the extreme-condition test of the model."""
    none = load_scenario(write(tmp_path, "zero_reps.yaml", f"extends: {BASELINE}\nteam:\n  reps: 0\n"))
    assert none.team.reps == 0 and none.team.rep_tiers() == []
    assert load_scenario(BASELINE, ["team.reps=0"]).hash == none.hash


def test_several_problems_are_counted_in_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, "many.yaml", "team: {reps: -1, repz: 2}\ndemo: {no_show_probability: 2}\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert "(and 2 more problems)" in info.value.message and "\n" not in str(info.value)


# --------------------------------------------------------------------------- hostile input found by fuzzing


@pytest.mark.parametrize(("text", "words"), [
    ('extends: "a\\0b.yaml"\n', "extends"),  # NUL byte in a path
    ("extends: " + "a" * 300 + ".yaml\n", "extends"),  # file name too long for the OS
    ("team: " + "[" * 1000 + "]" * 1000 + "\n", ""),  # nesting deeper than the parser's recursion limit
    ("team: {reps: " + "9" * 5000 + "}\n", ""),  # an integer too long to convert
])
def test_hostile_files_end_in_scenario_error(tmp_path: Path, text: str, words: str) -> None:
    path = write(tmp_path, "hostile.yaml", text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert "hostile.yaml" in str(info.value) and words in str(info.value)


@pytest.mark.parametrize("override", [
    "sources.\u00b2.name=x",  # a superscript two: str.isdigit() says yes, int() says no
    "sources." + "1" * 5000 + ".name=x",  # an index too long to convert
    "team.reps=" + "1" * 5000,  # a value too long to convert
    "team.reps=" + "[" * 1000,  # nesting deeper than the parser's recursion limit
    "team.working_days=" + "[" * 400 + "]" * 400,  # deep, but within the parser's limit
])
def test_hostile_overrides_end_in_scenario_error(override: str) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(BASELINE, [override])
    assert "--set" in str(info.value)


# --------------------------------------------------------------------------- durations


@pytest.mark.parametrize(("text", "minutes"), [
    (30, 30.0), (2.5, 2.5), (0, 0.0), ("45", 45.0), ("5m", 5.0), ("5 min", 5.0), ("90 minutes", 90.0),
    ("2h", 120.0), ("1.5h", 90.0), ("2 hours", 120.0), ("1d", 1440.0), ("3 days", 4320.0),
    ("1w", 10080.0), (" 10m ", 10.0), (".5h", 30.0),
])
def test_parse_duration(text: Any, minutes: float) -> None:
    assert parse_duration(text) == minutes


@pytest.mark.parametrize("text", [
    -1, -0.5, "-5m", True, False, None, "", "abc", "5x", "m", "5 m m", "1e3", [5], {"m": 5},
    float("inf"), float("nan"), "9" * 400 + "d",
])
def test_parse_duration_rejects(text: Any) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_duration_fields_accept_units_and_reject_junk(tmp_path: Path) -> None:
    s = load_scenario(write(tmp_path, "d.yaml", "marketing: {handoff_minutes: 2h}\nfollow_up:\n"
                                                "  attempt_offsets: [0, 15m, 1d]\n  ageing_days: 30\n"))
    assert s.marketing.handoff_minutes == 120.0
    assert s.follow_up.attempt_offsets == [0.0, 15.0, 1440.0]
    for bad in ("true", "-1h", "later"):
        with pytest.raises(ScenarioError) as info:
            load_scenario(BASELINE, [f"marketing.handoff_minutes={bad}"])
        assert info.value.field == "marketing.handoff_minutes"


# --------------------------------------------------------------------------- the content hash


def test_hash_does_not_depend_on_python_str_hashing() -> None:
    # set and dict iteration orders vary with PYTHONHASHSEED; the hash must not. Across processes:
    # tests/functional/test_cli_run.py compares a subprocess's printed hash with this process's.
    a = load_scenario(BASELINE, ["team.working_days=[fri, mon, wed]"])
    b = scenario_from_dict(yaml.safe_load(yaml.safe_dump(a.model_dump(mode="json"), sort_keys=True)))
    assert a.hash == b.hash
    assert a.hash == hashlib.sha256(json.dumps(a.behaviour_dict(), sort_keys=True, separators=(",", ":"))
                                    .encode()).hexdigest()[:16]


def test_hash_ignores_key_order_formatting_and_units(tmp_path: Path) -> None:
    data = yaml.safe_load(BASELINE.read_text(encoding="utf-8"))
    reference = load_scenario(BASELINE).hash

    def reverse(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: reverse(node[k]) for k in reversed(list(node))}
        if isinstance(node, list):
            return [reverse(v) for v in node]
        return node

    block = write(tmp_path, "block.yaml", yaml.safe_dump(data, sort_keys=True, default_flow_style=False))
    flow = write(tmp_path, "flow.yaml", yaml.safe_dump(reverse(data), sort_keys=False, default_flow_style=True))
    as_json = write(tmp_path, "json.yaml", json.dumps(data))  # JSON is YAML
    assert load_scenario(block).hash == reference
    assert load_scenario(flow).hash == reference
    assert load_scenario(as_json).hash == reference
    data["follow_up"]["attempt_offsets"] = [0, "30 min", "24h", 2880, "4 days", "6d"]
    data["marketing"]["handoff_minutes"] = "5m"
    data["sources"][0]["leads_per_month"] = 2200.0  # the baseline's 2200, written as a float
    units = write(tmp_path, "units.yaml", yaml.safe_dump(data))
    assert load_scenario(units).hash == reference


def test_hash_is_the_same_for_a_file_and_an_equivalent_one_that_extends_it(tmp_path: Path) -> None:
    five = load_scenario(SCENARIOS / "five_minute_sla.yaml")
    assert five.hash == load_scenario(BASELINE, ["sla.first_touch_minutes=5"]).hash
    standalone = write(tmp_path, "standalone.yaml", yaml.safe_dump(five.model_dump(mode="json")))
    assert load_scenario(standalone).hash == five.hash
    # defaults written out or left implicit: the same scenario
    explicit = write(tmp_path, "explicit.yaml", yaml.safe_dump(Scenario().model_dump(mode="json")))
    implicit = write(tmp_path, "implicit.yaml", "name: whatever\n")
    assert load_scenario(explicit).hash == load_scenario(implicit).hash == Scenario().hash


def test_hash_ignores_name_and_description() -> None:
    base = load_scenario(BASELINE)
    renamed = load_scenario(BASELINE, ["name=other", "description=another story"])
    assert renamed.name == "other" and renamed.hash == base.hash


def _enum_values(schema: Any, out: set[str]) -> set[str]:
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "enum":
                out.update(value)
            else:
                _enum_values(value, out)
    elif isinstance(schema, list):
        for value in schema:
            _enum_values(value, out)
    return out


def _candidates(value: Any, words: list[str]) -> list[Any]:
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return [value + 1, value - 1]
    if isinstance(value, float):
        return [value * 0.5, value + 1.0, 0.5, 0.1]
    if value is None:
        return [5.0, 1, str(BASELINE)]  # a number, or the path of a file that exists
    return [*words, "10:00", "10:00-18:00", "renamed"]


def test_hash_changes_with_every_behavioural_field() -> None:
    base = load_scenario(BASELINE)
    words = sorted(_enum_values(Scenario.model_json_schema(), set()))
    unchangeable = {"follow_up.attempt_offsets.0"}  # the first attempt is the first touch: always 0
    fields = leaves(base.behaviour_dict())
    assert len(fields) > 100
    assert "name" not in fields and "description" not in fields
    untested = []
    for path, value in fields.items():
        for candidate in _candidates(value, words):
            try:
                changed = base.with_overrides({path: candidate})
            except ScenarioError:
                continue
            if changed_fields(base, changed) != {path}:
                continue
            assert changed.hash != base.hash, f"the hash ignores {path}"
            break
        else:
            untested.append(path)
    assert untested == sorted(unchangeable)


def test_hash_changes_with_structure() -> None:
    base = load_scenario(BASELINE)
    fewer_sources = base.with_overrides({"sources": [s.model_dump() for s in base.sources[:3]]})
    one_more_attempt = base.with_overrides(["follow_up.attempt_offsets=[0, 30, 1d, 2d, 4d, 6d, 7d]"])
    months = base.with_overrides(["months=1"])
    assert len({base.hash, fewer_sources.hash, one_more_attempt.hash, months.hash}) == 4


def test_a_field_name_with_a_line_break_stays_on_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, "newline.yaml", 'team: {"re\\nps": 3}\n')
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.field == "team.'re\\nps'" and "\n" not in str(info.value)
