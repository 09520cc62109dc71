"""Instruction counts of HLO text dumps side by side: what one train step has that another lacks.

    python benchmarks/hlo_ops.py flax=DUMP_A.txt highlevel=DUMP_B.txt [--grep convolution]

Each file is an HLO module as XLA writes it with ``--xla_dump_to`` (``*.before_optimizations.txt``
or ``*_after_optimizations.txt``); the table counts the instructions by opcode (``fusion`` and
``custom-call`` included, so cuDNN and cuBLAS calls show on a GPU). ``--grep`` prints each
file's lines that contain a word instead, with SSA names and metadata removed so equal lines compare equal.
"""

from __future__ import annotations

import argparse
import collections
import re

_INSTRUCTION = re.compile(r"^\s*(?:ROOT )?%?[\w.\-]+ = .*?\b([a-z][a-z\-]*)\(")
_NAME = re.compile(r"%[\w.\-]+|, metadata=\{[^}]*\}")


def opcodes(path: str) -> collections.Counter:
    """How many instructions of each opcode the module's computations hold."""
    counts: collections.Counter = collections.Counter()
    with open(path) as f:
        for line in f:
            match = _INSTRUCTION.match(line)
            if match:
                counts[match.group(1)] += 1
    return counts


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dumps", nargs="+", help="NAME=PATH of an HLO text dump")
    parser.add_argument("--grep", help="print the lines containing this word instead")
    args = parser.parse_args(argv)
    named = [d.split("=", 1) if "=" in d else (d, d) for d in args.dumps]
    if args.grep:
        for name, path in named:
            with open(path) as f:
                lines = collections.Counter(_NAME.sub("", line.strip()) for line in f if args.grep in line)
            print(f"== {name}: {sum(lines.values())} lines")
            for line, n in sorted(lines.items()):
                print(f"{n:4d}  {line[:200]}")
        return
    counts = [opcodes(path) for _, path in named]
    ops = sorted(set().union(*counts), key=lambda op: -sum(c[op] for c in counts))
    print(f"| opcode | {' | '.join(name for name, _ in named)} |")
    print("|---|" + "---:|" * len(named))
    for op in ops:
        print(f"| {op} | {' | '.join(str(c[op]) for c in counts)} |")
    print(f"| **total** | {' | '.join(str(sum(c.values())) for c in counts)} |")


if __name__ == "__main__":
    main()
