"""Executes the notebooks headless against the outputs of `holoscale demo`.

    python notebooks/run.py --demo DEMO_DIR --bin PATH_TO_HOLOSCALE [--out DIR] [NOTEBOOK ...]

Each notebook runs in its own kernel with HOLOSCALE_DEMO_DIR and HOLOSCALE_BIN set and the
notebooks/ directory as working directory; the executed copies (with outputs) go to --out
when given. Any cell error fails the run with the cell's traceback.
"""

import argparse
import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

HERE = Path(__file__).resolve().parent


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--demo", required=True, type=Path, help="output directory of holoscale demo")
    p.add_argument("--bin", required=True, type=Path, help="the holoscale binary")
    p.add_argument("--out", type=Path, help="directory for the executed notebooks")
    p.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    p.add_argument("notebooks", nargs="*", type=Path)
    a = p.parse_args()
    books = a.notebooks or sorted(HERE.glob("*.ipynb"))
    if not books:
        print("no notebooks found", file=sys.stderr)
        return 1
    os.environ["HOLOSCALE_DEMO_DIR"] = str(a.demo.resolve())
    os.environ["HOLOSCALE_BIN"] = str(a.bin.resolve())
    failed = 0
    for path in books:
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(
            nb,
            timeout=a.timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(HERE)}},
        )
        try:
            client.execute()
            print(f"ok      {path.name}")
        except CellExecutionError as e:
            failed += 1
            print(f"FAILED  {path.name}\n{e}", file=sys.stderr)
        if a.out:
            a.out.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, a.out / path.name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
