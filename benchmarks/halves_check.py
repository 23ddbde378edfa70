"""Issue 17's halves check over every combination of the ranking changes it weighed.

A change stays in the defaults only if it is explained by a measured ablation that holds on both
halves of the queries, not by a fit to them: with every other change as in the defaults, the
change must raise both halves (odd- and even-numbered queries) of at least one set and lower no
half of any set. The sets: real-dev alone and with 10,000 distractors (MRR, ``short_queries.py``)
and Cranfield (MAP and nDCG@10, ``relevance.py``).

The changes (each named by the settings that turn it on and off):

- ``names``: each name of a synonym group scores as one word (``bm25.name_as_word``);
- ``graph``: neighbour smoothing by graph regularisation, w = 3, instead of the averaged rule
  of before, gamma = 1 (``neighbours.rule``, ``neighbours.weight``);
- ``joint``: question and answer lengths normalised jointly (``bm25.length_groups``) instead of
  per field.

Every one of the 2^3 combinations is measured (about 8 minutes), so that each change is also seen
in every context, not only against the defaults::

    python benchmarks/halves_check.py            # the table and each change's verdict
    python benchmarks/halves_check.py --json F   # and every figure, with each query's rank
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


@dataclass(frozen=True)
class Change:
    name: str
    on: dict
    off: dict
    what: str


PER_FIELD = (("title",), ("question",), ("answer",))
JOINT = (("title",), ("question", "answer"))

CHANGES = (
    Change("names", {"bm25.name_as_word": True}, {"bm25.name_as_word": False},
           "synonym names score as one word"),
    Change("graph", {"neighbours.rule": "regularised", "neighbours.weight": 3.0},
           {"neighbours.rule": "averaged", "neighbours.weight": 1.0},
           "graph regularisation instead of averaged neighbours"),
    Change("joint", {"bm25.length_groups": JOINT}, {"bm25.length_groups": PER_FIELD},
           "question + answer length joint instead of per field"),
)

#: Each set's halves: (label, how to read the figure from the measured result).
HALVES = ("alone odd", "alone even", "mixed odd", "mixed even", "MAP odd", "MAP even",
          "nDCG odd", "nDCG even")


def defaults_of(changes=CHANGES) -> tuple[bool, ...]:
    """Which changes the product's ``Ranking()`` has on (each change's ``on`` settings match)."""
    from searcher.ranking import Ranking

    r = Ranking()

    def value(path):
        obj = r
        for part in path.split("."):
            obj = getattr(obj, part)
        return obj

    return tuple(all(value(p) == v for p, v in c.on.items()) for c in changes)


def measure_config(state: tuple[bool, ...], changes=CHANGES) -> dict:
    """The halves' figures of one combination (``state[i]``: change i on)."""
    from benchmarks import relevance, short_queries
    from searcher.ranking import Ranking

    settings: dict = {}
    for c, on in zip(changes, state):
        settings.update(c.on if on else c.off)
    ranking = Ranking().with_settings(settings)
    s = short_queries.measure(engines=("mqt",), ranking=ranking)
    r = relevance.measure(ranking=ranking)
    out = {"settings": {k: repr(v) for k, v in settings.items()}}
    for corpus in ("alone", "mixed"):
        m = s[corpus]["mqt"]
        out[corpus] = m["all"]["RR@100"]
        out[f"{corpus} odd"], out[f"{corpus} even"] = m["odd"]["RR@100"], m["even"]["RR@100"]
        out[f"{corpus} ranks"] = m["ranks"]
    for label, key in (("MAP", "AP@1000"), ("nDCG", "nDCG@10")):
        out[label] = r["figures"][key]
        out[f"{label} odd"], out[f"{label} even"] = r["odd"][key], r["even"][key]
    return out


def verdict(with_: dict, without: dict, eps: float = 1e-9) -> tuple[dict, str]:
    """Each half's change and the check's verdict for one change in one context."""
    delta = {h: with_[h] - without[h] for h in HALVES}
    lowers = [h for h in HALVES if delta[h] < -eps]
    both_up = [s for s in ("alone", "mixed", "MAP", "nDCG")
               if delta[f"{s} odd"] > eps and delta[f"{s} even"] > eps]
    if lowers:
        return delta, "fails: lowers " + ", ".join(lowers)
    if not both_up:
        return delta, "fails: raises both halves of no set"
    return delta, "passes (both halves up: " + ", ".join(both_up) + ")"


def label(state: tuple[bool, ...], changes=CHANGES) -> str:
    return " ".join(f"{c.name}={'on' if on else 'off'}" for c, on in zip(changes, state))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", type=Path, default=None, help="write every figure here")
    args = ap.parse_args(argv)
    defaults = defaults_of()
    states = list(itertools.product((True, False), repeat=len(CHANGES)))
    results = {}
    for state in states:
        print(f"measuring {label(state)} ...", file=sys.stderr, flush=True)
        results[state] = measure_config(state)

    cols = ("alone", "alone odd", "alone even", "mixed", "mixed odd", "mixed even", "MAP",
            "MAP odd", "MAP even", "nDCG", "nDCG odd", "nDCG even")
    print("| combination | " + " | ".join(cols) + " |")
    print("|---|" + "---:|" * len(cols))
    for state in states:
        mark = " (defaults)" if state == defaults else ""
        print(f"| {label(state)}{mark} | " + " | ".join(f"{results[state][c]:.3f}" for c in cols) + " |")
    print()
    print("Each change, against the same combination without it (+: raises the half):")
    print()
    for i, c in enumerate(CHANGES):
        for state in states:
            if not state[i]:
                continue
            off = state[:i] + (False,) + state[i + 1:]
            delta, says = verdict(results[state], results[off])
            ctx = " (in the defaults)" if (state == defaults or off == defaults) else ""
            others = label(tuple(s for j, s in enumerate(state) if j != i),
                           tuple(x for j, x in enumerate(CHANGES) if j != i))
            print(f"- {c.name} with {others}{ctx}: "
                  + " ".join(f"{h} {delta[h]:+.3f}" for h in HALVES) + f" -> {says}")
    print()
    for i, c in enumerate(CHANGES):
        on = defaults[:i] + (True,) + defaults[i + 1:]
        off = defaults[:i] + (False,) + defaults[i + 1:]
        _delta, says = verdict(results[on], results[off])
        state = "in the defaults" if defaults[i] else "not in the defaults"
        print(f"{c.name} ({c.what}), {state}: {says}")
    if args.json:
        args.json.write_text(json.dumps({label(s): r for s, r in results.items()}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
