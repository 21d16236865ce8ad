"""The first step of jobs/train-pipeline.yml: checks the churn data and
keeps the rows that train.py can read (every numeric field a number, a
known contract, a 0/1 label), writing train.csv and test.csv to --out.
Standard library only, as train.py.
"""
import argparse
import csv
import os

import mlflow

from train import CONTRACTS, LABEL, NUMERIC, find_file


def usable(row):
    try:
        [float(row[c]) for c in NUMERIC]
    except (KeyError, TypeError, ValueError):
        return False
    return row.get("contract") in CONTRACTS and row.get(LABEL) in ("0", "1")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    os.makedirs(args.out, exist_ok=True)
    mlflow.start_run()
    for name in ("train.csv", "test.csv"):
        with open(find_file(args.data, name), newline="") as f:
            reader = csv.DictReader(f)
            rows = list(reader)
            fields = reader.fieldnames
        kept = [r for r in rows if usable(r)]
        with open(os.path.join(args.out, name), "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=fields)
            w.writeheader()
            w.writerows(kept)
        print("%s: kept %d of %d rows" % (name, len(kept), len(rows)))
        mlflow.log_metric(name.split(".")[0] + "_rows", len(kept))
    mlflow.end_run()


if __name__ == "__main__":
    main()
