"""The last step of jobs/train-pipeline.yml: scores the model train.py
wrote on the prepared test rows, logs the metrics and writes them to
--report as evaluation.json.
"""
import argparse
import csv
import json
import os

import mlflow

from train import LABEL, accuracy, auc, features, find_file


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--report", required=True)
    args = ap.parse_args()

    with open(find_file(args.model, "model.json")) as f:
        model = json.load(f)
    with open(find_file(args.data, "test.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    xs = [[(v - m) / s for v, m, s in zip(features(r), model["mean"], model["std"])] for r in rows]
    ys = [int(r[LABEL]) for r in rows]
    result = {"accuracy": accuracy(model["weights"], model["bias"], xs, ys),
              "auc": auc(model["weights"], model["bias"], xs, ys), "rows": len(rows)}
    mlflow.start_run()
    mlflow.log_metrics({"accuracy": result["accuracy"], "auc": result["auc"]})
    mlflow.end_run()
    os.makedirs(args.report, exist_ok=True)
    with open(os.path.join(args.report, "evaluation.json"), "w") as f:
        json.dump(result, f, indent=2)
    print("evaluated on %d rows: accuracy %.4f auc %.4f" % (len(rows), result["accuracy"], result["auc"]))


if __name__ == "__main__":
    main()
