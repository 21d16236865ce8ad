"""Compares the champion and the challenger of the churn classifier on the
held-out split of the churn data: Model-CD's evaluation job.

Standard library only, like train.py. Model-CD submits jobs/evaluate-models.yml
with two more inputs, champion_model and challenger_model (the registered
versions' files); Azure ML (and the sandbox) give each input's local path in
the environment as AZURE_ML_INPUT_<name>, which is where --champion and
--challenger default to. Each model folder is an MLflow model: its MLmodel
file names the python_function loader and its data, loaded as
deployments/score.py loads them.

Logged to MLflow, for each metric M of accuracy, auc and test_loss:
champion_M and challenger_M (Model-CD's `metric` input names M); and
p_value, the exact two-sided McNemar test of the two models' errors on the
same rows (small: they differ beyond chance), with the discordant counts
b (only the champion right) and c (only the challenger right).
"""
import argparse
import csv
import importlib.util
import math
import os
import sys

import mlflow

LABEL = "churned"


def find_file(folder, name):
    for root, _, files in os.walk(folder):
        if name in files:
            return os.path.join(root, name)
    sys.exit("no %s under %s" % (name, folder))


def mlmodel_fields(path):
    """The python_function fields of an MLmodel file (simple YAML: key: value)."""
    fields, in_pyfunc = {}, False
    with open(path) as f:
        for line in f:
            stripped = line.strip()
            if not line.startswith(" ") and stripped:
                in_pyfunc = False
            if stripped == "python_function:":
                in_pyfunc = True
            elif in_pyfunc and ":" in stripped and line.startswith("    ") and not line.startswith("      "):
                key, _, value = stripped.partition(":")
                fields[key.strip()] = value.strip()
    for key in ("loader_module", "data"):
        if not fields.get(key):
            sys.exit("%s has no python_function %s" % (path, key))
    return fields


def load_model(root, role):
    """The model under `root`: its loader module imported under a name of its own."""
    folder = os.path.dirname(find_file(root, "MLmodel"))
    flavor = mlmodel_fields(os.path.join(folder, "MLmodel"))
    code = os.path.join(folder, flavor.get("code") or "code", flavor["loader_module"] + ".py")
    spec = importlib.util.spec_from_file_location("%s_%s" % (role, flavor["loader_module"]), code)
    loader = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loader)
    print("%s model loaded from %s" % (role, folder))
    return loader._load_pyfunc(os.path.join(folder, flavor["data"]))


def probabilities(model, rows):
    return [min(max(model._row(r), 1e-12), 1 - 1e-12) for r in rows]


def auc(ps, ys):
    """Area under the ROC curve: the share of (churner, stayer) pairs the
    model ranks the right way round, a tie counting half."""
    pos = [p for p, y in zip(ps, ys) if y == 1]
    neg = [p for p, y in zip(ps, ys) if y != 1]
    if not pos or not neg:
        return 0.5
    right = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a in pos for b in neg)
    return right / (len(pos) * len(neg))


def metrics(ps, ys, threshold):
    right = [(p >= threshold) == (y == 1) for p, y in zip(ps, ys)]
    loss = -sum(y * math.log(p) + (1 - y) * math.log(1 - p) for p, y in zip(ps, ys)) / len(ys)
    return {"accuracy": sum(right) / len(ys), "auc": auc(ps, ys), "test_loss": loss}, right


def mcnemar_p(b, c):
    """Exact two-sided McNemar p-value: b of b + c discordant rows under Binomial(n, 1/2)."""
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2.0 ** n
    return min(1.0, 2 * tail)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, help="the churn data folder (test.csv is held out)")
    ap.add_argument("--champion", default=os.environ.get("AZURE_ML_INPUT_champion_model"))
    ap.add_argument("--challenger", default=os.environ.get("AZURE_ML_INPUT_challenger_model"))
    args = ap.parse_args()
    if not args.champion or not args.challenger:
        sys.exit("no champion_model or challenger_model input (Model-CD adds both)")

    with open(find_file(args.data, "test.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    ys = [int(r[LABEL]) for r in rows]
    models = {"champion": load_model(args.champion, "champion"),
              "challenger": load_model(args.challenger, "challenger")}

    mlflow.start_run()
    right = {}
    for role, model in models.items():
        values, right[role] = metrics(probabilities(model, rows), ys, model.spec.get("threshold", 0.5))
        mlflow.log_metrics({"%s_%s" % (role, k): v for k, v in values.items()})
        print("%s: %s" % (role, ", ".join("%s %.4f" % kv for kv in sorted(values.items()))))
    b = sum(1 for a, z in zip(right["champion"], right["challenger"]) if a and not z)
    c = sum(1 for a, z in zip(right["champion"], right["challenger"]) if z and not a)
    p = mcnemar_p(b, c)
    mlflow.log_metrics({"p_value": p, "mcnemar_b": b, "mcnemar_c": c})
    print("McNemar on %d held-out rows: b %d, c %d, p-value %.6g" % (len(rows), b, c, p))
    mlflow.end_run()


if __name__ == "__main__":
    main()
