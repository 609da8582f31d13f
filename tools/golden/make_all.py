"""Regenerate every PyTorch golden fixture under tests/fixtures/golden/.

    /usr/bin/python3 tools/golden/make_all.py            # everything
    /usr/bin/python3 tools/golden/make_all.py --no-io    # skip make_io_fixtures.py

Runs ops_cases.py (per-op cases), models.py (GPT block + MLP optimizer runs),
onnx_models.py (ONNX exports + train curves into tests/fixtures/onnx/) and,
if present, make_io_fixtures.py (owned separately; run as its own process). The
output is byte-for-byte deterministic for a given torch/numpy build.
"""

import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import models  # noqa: E402
import onnx_models  # noqa: E402
import ops_cases  # noqa: E402
from common import FIXTURE_DIR  # noqa: E402

SIZE_BUDGET = 3 * 1024 * 1024


def _dir_size(root):
    total = 0
    for dirpath, _, files in os.walk(root):
        for f in files:
            total += os.path.getsize(os.path.join(dirpath, f))
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--no-io", action="store_true", help="do not run make_io_fixtures.py")
    args = ap.parse_args()

    ops_cases.main()
    models.main()
    onnx_models.main_fixtures()  # tests/fixtures/onnx/

    io_script = os.path.join(HERE, "make_io_fixtures.py")
    if not args.no_io and os.path.exists(io_script):
        print("running make_io_fixtures.py")
        subprocess.run([sys.executable, io_script], check=True)

    total = _dir_size(FIXTURE_DIR)
    print(f"tests/fixtures/golden: {total / 1024:.1f} KiB total")
    if total >= SIZE_BUDGET:
        sys.exit(f"fixtures exceed the {SIZE_BUDGET // (1024 * 1024)} MB budget")


if __name__ == "__main__":
    main()
