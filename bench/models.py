"""Whole image models, side by side: gluonlite hybridized, MXNet 1.9.1 hybridized and
PyTorch 2.13 eager (the last two when ``.peers/`` has them) on ResNet-50 v1 (224x224;
inference batch 1 and 16, training batch 32), MobileNet v2 1.0 (inference batch 1 and 16)
and CIFAR ResNet-20 v1 (inference batch 1 and 16, training batch 128).

ResNet-50 and MobileNet v2 are the model zoo's (``gluon.model_zoo.vision``), the same Gluon
code in gluonlite and MXNet; CIFAR ResNet-20 is written once in ``bench/_workloads.py`` for
both Gluons; the PyTorch models are hand-written equivalents there (torchvision is not
used). Each contender's parameter count (BatchNorm statistics included) is reported so the
equivalence shows. Timing is ``bench/training.py``'s: one process per contender, alternating
rounds with a 0.3 s pause, medians; random inputs (seed 0), Xavier-initialised weights.

    python bench/models.py --markdown                      # the section bench/run.py writes
    python bench/models.py --quick --only resnet20-infer/1 --contenders gluonlite:hybrid
"""
import argparse
import statistics
import sys

import training
from _workloads import ROWS, suite_rows

NAMES = ("gluonlite:hybrid", "mxnet:hybrid", "pytorch:eager")
DEFAULT_ROUNDS = 5


def report(rows, samples, failures, names, params, markdown, rounds):
    """The Markdown (or plain) tables: ms per step/call per contender, then ratios of
    gluonlite hybridized to MXNet hybridized and to PyTorch eager against the rows' goals,
    then the parameter counts."""
    med = {k: statistics.median(v) for k, v in samples.items() if v}
    lines, notes, goals = [], [], []

    def cell(name, row):
        return training.time_cell(med, samples, failures, notes, name, row)

    def ratio_cells(other, row, goal):
        if ("gluonlite:hybrid", row) in med and (other, row) in med:
            q = med[("gluonlite:hybrid", row)] / med[(other, row)]
            goals.append(q <= goal)
            return [f"{q:.2f}", f"≤ {goal:.2f} {training._mark(q <= goal)}"]
        return ["–", f"≤ {goal:.2f} –"]

    if markdown:
        lines += [
            "## Image models (`bench/models.py`)",
            "",
            "ms per training step or inference call, median over alternating rounds (in "
            "brackets the fastest and slowest round), each contender in its own process with "
            "its default threading, as in `bench/training.py` (training step: forward + "
            "`SoftmaxCrossEntropyLoss` under `autograd.record`, `backward`, SGD momentum 0.9 "
            "`Trainer.step`; inference: `net(x).asnumpy()`, PyTorch `.numpy()` under "
            "`torch.no_grad()` in `eval()` mode). Hybridized = `hybridize(static_alloc=True, "
            "static_shape=True)`. ResNet-50 v1 and MobileNet v2 are `gluon.model_zoo.vision` "
            "(the same code in gluonlite and MXNet); PyTorch runs hand-written equivalents "
            f"(`bench/_workloads.py`). Up to {rounds} rounds per row.",
            "",
        ]
        for row in rows:
            r = ROWS[row]
            unit = ("step" if r.train else "call") + ("s" if r.steps > 1 else "")
            cap = f", at most {r.max_rounds} rounds" if r.max_rounds else ""
            lines.append(f"- `{row}`: {r.describe}; {r.steps} {unit} per round{cap}.")
        lines.append("")
    lines.append("| row | " + " | ".join(training.LABELS[n] for n in names) + " |")
    lines.append("|---" * (len(names) + 1) + "|")
    for row in rows:
        lines.append(f"| {row} | " + " | ".join(cell(n, row) for n in names) + " |")
    lines.append("")
    lines.append("Ratios of gluonlite hybridized (below 1: gluonlite is faster) and the "
                 "performance issue's goals:")
    lines.append("")
    lines.append("| row | / MXNet hybridized | goal | / PyTorch eager | goal |")
    lines.append("|---|---|---|---|---|")
    for row in rows:
        r = ROWS[row]
        cols = [row] + ratio_cells("mxnet:hybrid", row, r.goal)
        cols += ratio_cells("pytorch:eager", row, r.torch_goal)
        lines.append("| " + " | ".join(cols) + " |")
    lines.append("")
    kinds = {}
    for (name, row), n in params.items():
        kinds.setdefault(ROWS[row].kind, {})[name] = n
    if kinds:
        lines.append("Parameter counts (weights, biases, BatchNorm running statistics) of "
                     "each contender's model, the check that the models are the same: "
                     + "; ".join(f"{kind}: " + ", ".join(
                         f"{training.LABELS[n].split()[0]} {kinds[kind][n]:,}"
                         for n in names if n in kinds[kind])
                         + (" (differ!)" if len(set(kinds[kind].values())) > 1 else "")
                         for kind in kinds) + ".")
        lines.append("")
    if goals:
        lines.append(f"Goals met: {sum(goals)} of {len(goals)}.")
        lines.append("")
    for i, note in enumerate(notes, 1):
        lines.append(f"[{i}] {note}")
    if notes:
        lines.append("")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--markdown", action="store_true", help="print a Markdown section")
    ap.add_argument("--quick", action="store_true", help="1 round (smoke test)")
    ap.add_argument("--rounds", type=int, default=None,
                    help=f"alternating rounds (default {DEFAULT_ROUNDS}, with --quick 1)")
    ap.add_argument("--only", action="append", metavar="ROW",
                    help="run only these rows (repeatable or comma-separated): "
                         f"{suite_rows('zoo')}")
    ap.add_argument("--contenders", default=",".join(NAMES),
                    help=f"comma-separated subset of {list(NAMES)}")
    args = ap.parse_args()
    try:
        rows = training.parse_rows(args.only, "zoo")
    except ValueError as e:
        ap.error(str(e))
    names = tuple(n.strip() for n in args.contenders.split(",") if n.strip())
    bad = [n for n in names if n not in NAMES]
    if bad or not names:
        ap.error(f"--contenders: unknown {bad}; expected some of {list(NAMES)}")
    rounds = args.rounds if args.rounds is not None else (1 if args.quick else DEFAULT_ROUNDS)
    if rounds < 1:
        ap.error("--rounds must be at least 1")
    if not rows:
        print("models.py: none of the chosen rows is one of its own; nothing to run",
              file=sys.stderr)
        return
    training._log(f"models.py: rows {rows}, {rounds} rounds, contenders {list(names)}")
    params = {}
    samples, _, failures, got = training.measure(rows, rounds, names, floor=False,
                                                 params=params)
    print(report(rows, samples, failures, got, params, args.markdown, rounds))


if __name__ == "__main__":
    main()
