"""Property test: malformed scenario documents end in ScenarioError, never in anything else.

Over 1,000 generated documents are thrown at the loader per run: mutations of the baseline
(wrong types, out-of-range values, unknown keys, deleted fields), random nestings built from
the schema's own field names, broken YAML text and raw bytes, and hostile ``--set``
overrides. Each either loads as a valid Scenario (the mutation happened to be valid) or
raises the project's ScenarioError with one line naming the source. Any other exception
is a bug in the loader. The examples are derandomised, so CI sees the same documents.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from funnelsim.scenario import Scenario, load_scenario, scenario_from_dict

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
BASELINE = SCENARIOS / "baseline.yaml"
BASE_TEXT = BASELINE.read_text(encoding="utf-8")
BASE_DOC: dict[str, Any] = yaml.safe_load(BASE_TEXT)
BASE_SCENARIO = load_scenario(BASELINE)  # immutable
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when available: same YAML, faster


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a document, to sections, list items and scalars alike."""
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += _paths(value, (*prefix, index))
    return out


PATHS = _paths(BASE_DOC)
FIELD_NAMES = sorted({p[-1] for p in PATHS if isinstance(p[-1], str)} | {"extends", "name", "description"})
DOTTED = sorted({".".join(str(part) for part in p) for p in PATHS})
WORDS = ["mon", "sat", "funday", "round_robin", "batched", "wait", "published", "hot_first", "09:00",
         "25:00", "09:00-17:00", "17:00-09:00", "5m", "2h", "1d", "-5m", "soon", "null", "~", "", " ",
         "baseline.yaml", "../baseline.yaml", "missing.yaml", "\x00", "\u00b2", "٣", "1" * 5000]

FUZZ = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-10**6, max_value=10**6),
    st.integers(),  # arbitrarily large
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([-1, 0, 1, 0.5, 1.0000001, -0.0, 1e308, 101, 10_001, 24, 7]),
    st.text(max_size=12),
    st.sampled_from(WORDS),
)
keys = st.one_of(st.sampled_from(FIELD_NAMES), st.text(min_size=1, max_size=10))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(keys, inner, max_size=5)),
    max_leaves=12,
)


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    node = doc
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


def _delete(doc: Any, path: tuple[Any, ...]) -> None:
    node = doc
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]


mutation = st.one_of(
    st.tuples(st.just("set"), st.sampled_from(PATHS), values),
    st.tuples(st.just("delete"), st.sampled_from(PATHS), st.none()),
    st.tuples(st.just("add"), st.sampled_from([(), *[p for p in PATHS if isinstance(p[-1], str)]]),
              st.tuples(keys, values)),
)


@st.composite
def mutated_baselines(draw: st.DrawFn) -> dict[str, Any]:
    """The baseline document with one to four mutations (each applied where it still fits)."""
    import copy

    doc = copy.deepcopy(BASE_DOC)
    for op, path, payload in draw(st.lists(mutation, min_size=1, max_size=4)):
        try:
            if op == "set":
                _set(doc, path, payload)
            elif op == "delete":
                _delete(doc, path)
            else:
                node = doc
                for part in path:
                    node = node[part]
                if isinstance(node, dict):
                    node[payload[0]] = payload[1]
        except (KeyError, IndexError, TypeError):
            pass  # an earlier mutation removed or replaced that part of the document
    return doc


extends_targets = st.one_of(values, st.sampled_from(["baseline.yaml", "./baseline.yaml", "random.yaml", "none.yaml",
                                                     "a\x00b.yaml", "x" * 300, ".", "/", ""]))
random_documents = st.one_of(
    st.dictionaries(keys, values, max_size=8),
    st.fixed_dictionaries({"extends": extends_targets}, optional={"team": values, "sources": values}),
)


@st.composite
def broken_yaml_texts(draw: st.DrawFn) -> str:
    """The baseline's text with character-level damage, or text with YAML's special characters."""
    if draw(st.booleans()):
        return draw(st.text(alphabet=st.sampled_from(list(":-[]{}#&*!|>'\"%@`,? \n\tab1.")) | st.characters(),
                            max_size=200))
    text = BASE_TEXT
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["insert", "delete", "indent", "cut"]))
        if kind == "insert":
            text = text[:at] + draw(st.text(alphabet=list(":-[]{}#&*!|>'\"\t\n 0x"), min_size=1, max_size=4)) + text[at:]
        elif kind == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 30)):]
        elif kind == "indent":
            line_start = text.rfind("\n", 0, at) + 1
            text = text[:line_start] + " " * draw(st.integers(1, 3)) + text[line_start:]
        else:
            text = text[:at]
    return text


overrides = st.one_of(
    st.tuples(st.sampled_from(DOTTED), st.one_of(st.text(max_size=20), st.sampled_from(WORDS),
                                                  values.map(lambda v: yaml.safe_dump(v, default_flow_style=True)
                                                             .strip().replace("\n", " ")))),
    st.tuples(st.lists(st.one_of(st.sampled_from(FIELD_NAMES), st.text(max_size=6), st.integers(-2, 12).map(str),
                                 st.sampled_from(["\u00b2", "\u0663", "0" * 12, "9" * 5000, " 1", ""])),
                       min_size=1, max_size=5).map(".".join),
              st.text(max_size=20)),
).map(lambda kv: f"{kv[0]}={kv[1]}")


def check(call: Callable[[], Scenario], source: str | None = None) -> None:
    """`call` must return a valid Scenario or raise ScenarioError with one line naming `source`."""
    from funnelsim.errors import ScenarioError

    try:
        scenario = call()
    except ScenarioError as exc:
        message = str(exc)
        assert message.startswith(exc.source or "<input>")
        assert "\n" not in message, message
        if source is not None:
            assert source in message, message
        event("ScenarioError")
        return
    event("loaded")
    assert isinstance(scenario, Scenario)
    assert Scenario.model_validate(scenario.model_dump()) == scenario
    assert len(scenario.hash) == 16
    assert all(math.isfinite(s.leads_per_month) for s in scenario.sources)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "baseline.yaml").write_text(BASE_TEXT, encoding="utf-8")  # a real extends target
    return folder


@FUZZ
@given(doc=mutated_baselines())
def test_mutated_baseline_files(folder: Path, doc: dict[str, Any]) -> None:
    path = folder / "mutated.yaml"
    path.write_text(yaml.dump(doc, Dumper=DUMPER, allow_unicode=True), encoding="utf-8")
    check(lambda: load_scenario(path), None if "extends" in doc else "mutated.yaml")


@settings(FUZZ, max_examples=300)
@given(doc=st.one_of(mutated_baselines(), random_documents, values))
def test_documents_through_scenario_from_dict(doc: Any) -> None:
    check(lambda: scenario_from_dict(doc, "fuzz-source"), "fuzz-source")


@settings(FUZZ, max_examples=120)
@given(doc=random_documents)
def test_random_nestings_of_field_names(folder: Path, doc: dict[str, Any]) -> None:
    path = folder / "random.yaml"
    path.write_text(yaml.dump(doc, Dumper=DUMPER, allow_unicode=True), encoding="utf-8")
    check(lambda: load_scenario(path), None if "extends" in doc else "random.yaml")


@settings(FUZZ, max_examples=130)
@given(text=broken_yaml_texts())
def test_broken_yaml_text(folder: Path, text: str) -> None:
    path = folder / "broken.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    check(lambda: load_scenario(path), None if "extends" in text else "broken.yaml")


@settings(FUZZ, max_examples=50)
@given(data=st.binary(max_size=200))
def test_raw_bytes(folder: Path, data: bytes) -> None:
    path = folder / "bytes.yaml"
    path.write_bytes(data)
    check(lambda: load_scenario(path), None if b"extends" in data else "bytes.yaml")


@settings(FUZZ, max_examples=80)
@given(items=st.lists(overrides, min_size=1, max_size=3))
def test_set_overrides(items: list[str]) -> None:
    check(lambda: load_scenario(BASELINE, items), "--set")


@settings(FUZZ, max_examples=220)
@given(items=st.lists(overrides, min_size=1, max_size=3))
def test_set_overrides_on_a_loaded_scenario(items: list[str]) -> None:
    check(lambda: BASE_SCENARIO.with_overrides(items), "--set")
