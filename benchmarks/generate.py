"""Generate a synthetic corpus for the benchmarks (the generator is ``index_data.synthetic``).

    python benchmarks/generate.py /tmp/mqt-100k --count 100000 [--seed 1]

Deterministic: file ``i`` depends only on ``(seed, i)``, so a 10k corpus is the first 10k files
of the 100k one.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from index_data.synthetic import Generator, generate  # noqa: E402

__all__ = ["Generator", "generate", "main"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    out = generate(args.out_dir, args.count, args.seed)
    size = sum(p.stat().st_size for p in out.iterdir())
    print(f"wrote {args.count:,} files ({size / 1e6:,.1f} MB) to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
