"""Property test: malformed sweep files end in InputError naming the file, never in anything else.

Over 1,000 generated documents per run, in-process: mutations of the bundled sweep (wrong
types, huge levels and samples, hostile names, unknown keys, deleted fields), random
nestings of the schema's own keys, broken YAML text (aliases, duplicate keys, deep
nesting) and raw bytes. Each either loads as a valid Sweep whose name is a safe folder
name, or raises InputError on one line naming the sweep (or the scenario it points to).
The sweep-points limit is lowered for the run, so valid documents stay quick to check
and the limit itself is exercised.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from funnelsim.errors import InputError
from funnelsim.experiments.sweep import SAFE_NAME, Sweep, load_sweep, sweep_from_dict

REPO = Path(__file__).resolve().parents[2]
BASELINE = REPO / "scenarios" / "baseline.yaml"
BASE_DOC: dict[str, Any] = yaml.safe_load((REPO / "scenarios" / "sweeps" / "reps_and_sla.yaml").read_text())
BASE_DOC["base"] = str(BASELINE)
KEYS = ["name", "description", "base", "set", "design", "samples", "replications", "seed", "factors", "kpis",
        "values", "low", "high", "type", "levels", "team.reps", "sla.first_touch_minutes", "months"]
NAMES = ["../x", "/abs", "a/b", "a\x00b", "\x1b[2J", "n" * 300, ".", "..", ".hidden", "ok name", "é", ""]
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

FUZZ = settings(max_examples=250, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10, 40), st.integers(), st.floats(),
                    st.sampled_from([10**9, 10**18, 1e308, -1, 0, 0.5, "full_factorial", "latin_hypercube", "int",
                                     "float", "won_deals", "won_dels", *NAMES]),
                    st.text(max_size=10))
keys = st.one_of(st.sampled_from(KEYS), st.text(min_size=1, max_size=8))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(keys, inner, max_size=4)), max_leaves=10)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


PATHS = _paths(BASE_DOC)


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    doc = copy.deepcopy(BASE_DOC)
    for path, value, delete in draw(st.lists(st.tuples(st.sampled_from([*PATHS, ("name",), ("samples",),
                                                                        ("factors", "team.reps")]),
                                                       values, st.booleans()), min_size=1, max_size=3)):
        node = doc
        try:
            for part in path[:-1]:
                node = node[part]
            if delete and isinstance(node, dict):
                node.pop(path[-1], None)
            else:
                node[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            pass
    return doc


@pytest.fixture(autouse=True)
def small_limits(monkeypatch) -> None:
    monkeypatch.setenv("FUNNELSIM_MAX_SWEEP_POINTS", "40")


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz-sweep")


def check(call, source: str) -> None:
    started = time.monotonic()
    try:
        sweep = call()
    except InputError as exc:
        text = str(exc)
        assert "\n" not in text and "\x00" not in text and "\x1b" not in text, text
        assert text.startswith(source) or text.startswith(str(BASELINE)) or "(point " in text or "/" in text, text
        event("InputError")
    else:
        event("loaded")
        assert isinstance(sweep, Sweep) and SAFE_NAME.match(sweep.name) and len(sweep.name) <= 100
        assert len(sweep.points()) <= 40
    assert time.monotonic() - started < 10


@FUZZ
@given(doc=mutated())
def test_mutated_sweeps(doc: dict[str, Any]) -> None:
    check(lambda: sweep_from_dict(doc, "fuzz.yaml", REPO), "fuzz.yaml")


@FUZZ
@given(doc=st.one_of(st.dictionaries(keys, values, max_size=8), values,
                     st.fixed_dictionaries({"base": st.just(str(BASELINE)), "factors": values},
                                           optional={"design": values, "samples": values, "name": values})))
def test_random_documents(doc: Any) -> None:
    check(lambda: sweep_from_dict(doc, "fuzz.yaml", REPO), "fuzz.yaml")


@st.composite
def texts(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["damaged", "alias", "duplicate", "deep", "special"]))
    base = yaml.dump(BASE_DOC, Dumper=DUMPER, sort_keys=False)
    if kind == "damaged":
        at = draw(st.integers(0, len(base)))
        return base[:at] + draw(st.text(alphabet=list(":-[]{}#&*!|>'\"\t\n 0x"), max_size=5)) + base[at:]
    if kind == "alias":
        width, depth = draw(st.integers(2, 12)), draw(st.integers(1, 12))
        lines = ["a0: &a0 [1, 2]"] + [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]"
                                      for i in range(1, depth)]
        return base + "\n".join(lines) + f"\nfactors: {{team.reps: *a{depth - 1}}}\n"
    if kind == "duplicate":
        key = draw(st.sampled_from(["name", "base", "factors", "replications"]))
        return base + f"{key}: 3\n"
    if kind == "deep":
        n = draw(st.integers(30, 3000))
        return base + "set: " + "{a: " * n + "1" + "}" * n + "\n"
    return draw(st.text(alphabet=st.sampled_from(list(":-[]{}#&*!|>'\"%@`,? \n\tab1.")) | st.characters(),
                        max_size=200))


@FUZZ
@given(text=texts())
def test_yaml_text(folder: Path, text: str) -> None:
    path = folder / "text.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    check(lambda: load_sweep(path), str(path))


@FUZZ
@given(data=st.binary(max_size=200))
def test_raw_bytes(folder: Path, data: bytes) -> None:
    path = folder / "bytes.yaml"
    path.write_bytes(data)
    check(lambda: load_sweep(path), str(path))
