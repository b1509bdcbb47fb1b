"""Build the demo patient database (native schema, planted phenotypes and outcome), and the same as MEDS.

    python examples/make_demo_db.py                      # examples/patients.db (3000 patients) and examples/patients_meds/
    python examples/make_demo_db.py out.db --patients 500 --seed 1 --meds out_meds
    python examples/make_demo_db.py --no-meds            # the SQLite database only

The MEDS copy needs the ``meds`` extra; without it (the plain install) it is skipped, saying so.

The MEDS dataset holds the same patients and events (events without a time left out), its
codes in two ETL styles (MIMIC-IV MEDS in even shards, meds_etl/EHRSHOT in odd ones), and a
label table ``task_labels/outcome.parquet`` (prediction time 2025-01-01, the planted outcome).
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
from pathlib import Path

from ehrfeat.demo import make_demo_db
from ehrfeat.errors import EhrfeatError
from ehrfeat.extras import installed, missing_module_error, pip_command


def write_meds(db: Path, out: Path) -> str:
    from ehrfeat.store.meds.write import native_to_meds, write_label_table

    if out.exists():
        if not (out / "metadata" / "dataset.json").is_file() or "ehrfeat demo" not in (out / "metadata" / "dataset.json").read_text():
            raise SystemExit(f"error: {out} exists and is not an ehrfeat demo MEDS dataset; choose another --meds folder")
        shutil.rmtree(out)
    summary = native_to_meds(db, out, style="mixed", n_shards=4)
    con = sqlite3.connect(db)
    rows = con.execute("SELECT patient_id, index_date, outcome FROM demo_outcome ORDER BY patient_id").fetchall()
    con.close()
    write_label_table(out / "task_labels" / "outcome.parquet", [r[0] for r in rows], [r[1] for r in rows],
                      boolean_value=[bool(r[2]) for r in rows])
    return summary.line()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", nargs="?", type=Path, default=Path(__file__).parent / "patients.db",
                        help="output SQLite file (default: examples/patients.db); a previous demo database is replaced")
    parser.add_argument("--patients", type=int, default=3000, help="number of patients (default: 3000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives identical rows (default: 0)")
    parser.add_argument("--meds", type=Path, default=None,
                        help="also write the MEDS dataset here (default: next to the database, NAME_meds/)")
    parser.add_argument("--no-meds", action="store_true", help="write the SQLite database only")
    args = parser.parse_args()
    try:
        summary = make_demo_db(args.path, n_patients=args.patients, seed=args.seed)
        print(summary.line())
        if not args.no_meds:
            if args.meds is None and not (installed("meds") and installed("pyarrow")):  # the plain install
                print(f"MEDS copy skipped: it needs {pip_command('meds')}")
            else:
                print(write_meds(args.path, args.meds or args.path.with_name(args.path.stem + "_meds")))
    except ImportError as exc:  # --meds asked for without the meds extra: one line naming it
        error = missing_module_error(exc)
        if error is None:
            raise
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    except EhrfeatError as exc:
        raise SystemExit(f"error: {exc}") from exc


if __name__ == "__main__":
    main()
