"""Build the demo patient database (native schema, planted phenotypes and outcome).

    python examples/make_demo_db.py                      # examples/patients.db, 3000 patients
    python examples/make_demo_db.py out.db --patients 500 --seed 1
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ehrfeat.demo import make_demo_db
from ehrfeat.errors import EhrfeatError


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", nargs="?", type=Path, default=Path(__file__).parent / "patients.db",
                        help="output SQLite file (default: examples/patients.db); a previous demo database is replaced")
    parser.add_argument("--patients", type=int, default=3000, help="number of patients (default: 3000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives identical rows (default: 0)")
    args = parser.parse_args()
    try:
        summary = make_demo_db(args.path, n_patients=args.patients, seed=args.seed)
    except EhrfeatError as exc:
        raise SystemExit(f"error: {exc}") from exc
    print(summary.line())


if __name__ == "__main__":
    main()
