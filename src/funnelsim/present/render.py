"""The report as one file: execute the ``ab_compare`` notebook with papermill, convert it with nbconvert.

:func:`render_report` runs the notebook (which runs the comparison and shows the
:class:`~funnelsim.present.ab_report.ABReport`) and writes it as one self-contained HTML
file (code hidden, charts embedded, no external scripts), atomically.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..atomic import write_text
from ..errors import FunnelsimError, InputError
from ..experiments.replicate import check_kpi
from ..safe_io import check_output_file
from ..scenario import load_scenario
from .html import TEMPLATES

__all__ = ["REPORT_NOTEBOOK", "default_notebook", "notebook_to_html", "render_report"]

REPORT_NOTEBOOK = "ab_compare.ipynb"
#: the nbconvert template: the lab look without any script fetched from the network
NBCONVERT_TEMPLATE = TEMPLATES / "nbconvert" / "funnelsim.html.j2"


def default_notebook() -> Path:
    """The ab_compare notebook of the source tree this package runs from (or under the working folder)."""
    candidates = [Path(__file__).resolve().parents[3] / "notebooks" / REPORT_NOTEBOOK,
                  Path.cwd() / "notebooks" / REPORT_NOTEBOOK]
    for path in candidates:
        if path.is_file():
            return path
    raise InputError("--notebook", None, f"cannot find notebooks/{REPORT_NOTEBOOK}; pass its path with --notebook")


def notebook_to_html(notebook: Any, title: str = "funnelsim report") -> str:
    """An executed notebook as self-contained HTML: code, prompts, stderr and widgets hidden, no external
    scripts and no MathJax (money has dollar signs)."""
    import nbformat
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(notebook), as_version=4) if isinstance(notebook, (str, Path)) else notebook
    nb.metadata["title"] = title
    nb.cells = [c for c in nb.cells if "report-skip" not in c.get("metadata", {}).get("tags", [])]
    nb.metadata.pop("widgets", None)  # a report is static: no widget state, no widget manager to fetch
    for cell in nb.cells:
        if cell.get("cell_type") == "code":
            # stderr and widgets (the progress bars of a long run) are for the analyst, not the report
            cell["outputs"] = [o for o in cell.get("outputs", [])
                               if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
                               and "application/vnd.jupyter.widget-view+json" not in o.get("data", {})]
    template = NBCONVERT_TEMPLATE.read_text(encoding="utf-8")
    exporter = HTMLExporter(template_name="lab", extra_loaders=[DictLoader({"funnelsim.html.j2": template})],
                            template_file="funnelsim.html.j2", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True, embed_images=True)
    body, _ = exporter.from_notebook_node(nb)
    return body


def render_report(baseline: str | Path, variants: Sequence[str | Path], output: str | Path, *,
                  replications: int = 10, seed: int = 0, precision: float | None = None,
                  max_replications: int = 100, min_effects: dict[str, float] | None = None,
                  overrides: Sequence[str] = (), months: float | None = None, executor: str | None = None,
                  workers: int | None = None, dask_address: str | None = None, store: str | Path | None = None,
                  notebook: str | Path | None = None, timeout: int | None = 3600) -> Path:
    """Execute the ab_compare notebook with papermill and write it as one self-contained HTML file."""
    import papermill as pm

    # validate inputs here, so a bad file or field is one clear line before any kernel starts
    extra = [*overrides, *([f"months={months}"] if months is not None else [])]
    scenarios = [load_scenario(p, extra or None) for p in [baseline, *variants]]
    for name in min_effects or {}:
        check_kpi(name, "min_effects")
    source = Path(notebook) if notebook is not None else default_notebook()
    if not source.is_file():
        raise InputError("--notebook", None, f"{source}: file not found")
    check_output_file(output, "--output")  # before the notebook runs, so its work is never lost
    parameters = {
        "baseline": str(Path(baseline).resolve()),
        "variants": [str(Path(v).resolve()) for v in variants],
        "replications": int(replications), "seed": int(seed), "precision": precision,
        "max_replications": int(max_replications), "min_effects": dict(min_effects or {}) or None,
        "overrides": list(overrides), "months": months, "executor": executor, "workers": workers,
        "dask_address": dask_address, "store": str(Path(store).resolve()) if store is not None else None,
    }
    title = f"{' / '.join(s.name for s in scenarios[1:])} vs {scenarios[0].name}"
    with tempfile.TemporaryDirectory(prefix="funnelsim-report-") as tmp:
        executed = Path(tmp) / REPORT_NOTEBOOK
        try:
            pm.execute_notebook(str(source), str(executed), parameters=parameters, kernel_name="python3",
                                progress_bar=False, log_output=False, cwd=str(source.parent),
                                execution_timeout=timeout, extra_arguments=["--IPKernelApp.log_level=ERROR"])
        except pm.PapermillExecutionError as exc:
            raise FunnelsimError(f"{source.name}: the notebook failed in cell {exc.exec_count}: "
                                 f"{exc.ename}: {str(exc.evalue).splitlines()[0] if exc.evalue else ''}") from None
        page = notebook_to_html(executed, title)
    return write_text(output, page)
