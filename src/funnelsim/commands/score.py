"""``funnelsim score``: train a lead-score model on a CRM export, or evaluate one on another export."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..crm.read import read_export
from ..errors import InputError
from ..safe_io import check_output_file
from ..crm.scoring import MODEL_KINDS, evaluate_score_model, load_score_model, save_score_model, train_score_model
from .options import non_negative_int

__all__ = ["register", "train", "evaluate"]


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} must be between 0 and 1")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("score", help="train or evaluate a lead-score model (scikit-learn, saved with skops)",
                       description="Lead scoring: predict which leads become SQLs from a CRM export.")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=type(p))
    t = actions.add_parser("train", help="train on an export, report ROC AUC and calibration on held-out leads")
    t.add_argument("export", help="CRM export (CSV)")
    t.add_argument("-o", "--out", type=Path, required=True, help="model file to write (.skops)")
    t.add_argument("--model", choices=MODEL_KINDS, default="logistic", help="classifier (default logistic)")
    t.add_argument("--test-share", type=_share, default=0.25, help="share of leads held out (default 0.25)")
    t.add_argument("--seed", type=non_negative_int, default=0, help="seed of the split and the model (default 0)")
    t.set_defaults(handler=train)
    e = actions.add_parser("evaluate", help="ROC AUC and calibration of a saved model on an export")
    e.add_argument("model", help="model file (.skops) written by `funnelsim score train`")
    e.add_argument("export", help="CRM export (CSV)")
    e.set_defaults(handler=evaluate)


def train(args: argparse.Namespace) -> int:
    if args.out.suffix != ".skops":
        raise InputError("--out", None, f"{args.out} should end in .skops (the model is saved with skops)")
    check_output_file(args.out, "--out")  # before training
    report = train_score_model(read_export(args.export), args.model, args.test_share, args.seed, args.export)
    save_score_model(report.model, args.out)
    print(report.text())
    print(f"\nWrote {args.out}; use it in a scenario with  marketing: {{score_model: {args.out.name}}}")
    return 0


def evaluate(args: argparse.Namespace) -> int:
    model = load_score_model(args.model)
    report = evaluate_score_model(model, read_export(args.export), args.export)
    print(report.text())
    return 0
