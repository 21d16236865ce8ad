"""Trains a logistic-regression churn classifier on datasets/churn.

Standard library only (no numpy or scikit-learn), so the same script runs in
the local sandbox on the host's python3 and on Azure ML in train-env.
Metrics go to MLflow (Azure ML's tracking server sets the run up through
the environment); the model goes to --model-dir as an MLflow model folder:
the weights as JSON, the MLmodel file with a python_function flavor whose
loader_module (code/churn_model.py, written beside them) MLflow imports
and calls _load_pyfunc(<data path>) on, and the conda environment it needs.
"""
import argparse
import csv
import json
import math
import os
import platform
import random
import sys
import time
import uuid

import mlflow

NUMERIC = ["tenure_months", "monthly_charge", "support_calls"]
CONTRACTS = ["month-to-month", "one-year", "two-year"]
LABEL = "churned"


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def find_file(folder, name):
    for root, _, files in os.walk(folder):
        if name in files:
            return os.path.join(root, name)
    sys.exit("no %s under %s" % (name, folder))


def features(row):
    x = [float(row[c]) for c in NUMERIC]
    x += [1.0 if row["contract"] == c else 0.0 for c in CONTRACTS]
    return x


def standardize(train, test):
    n = len(train[0])
    mean = [sum(r[i] for r in train) / len(train) for i in range(n)]
    std = [math.sqrt(sum((r[i] - mean[i]) ** 2 for r in train) / len(train)) or 1.0 for i in range(n)]
    scale = lambda rows: [[(r[i] - mean[i]) / std[i] for i in range(n)] for r in rows]
    return scale(train), scale(test), mean, std


def sigmoid(z):
    if z < -35:
        return 0.0
    if z > 35:
        return 1.0
    return 1.0 / (1.0 + math.exp(-z))


def predict(w, b, x):
    return sigmoid(sum(wi * xi for wi, xi in zip(w, x)) + b)


def log_loss(w, b, xs, ys):
    eps = 1e-12
    total = 0.0
    for x, y in zip(xs, ys):
        p = min(max(predict(w, b, x), eps), 1 - eps)
        total -= y * math.log(p) + (1 - y) * math.log(1 - p)
    return total / len(xs)


def accuracy(w, b, xs, ys):
    return sum((predict(w, b, x) >= 0.5) == (y == 1) for x, y in zip(xs, ys)) / len(xs)


def auc(w, b, xs, ys):
    """Area under the ROC curve by the rank-sum (Mann-Whitney) formula."""
    scored = sorted((predict(w, b, x), y) for x, y in zip(xs, ys))
    pos = sum(ys)
    neg = len(ys) - pos
    if not pos or not neg:
        return 0.5
    rank_sum, i = 0.0, 0
    while i < len(scored):
        j = i
        while j < len(scored) and scored[j][0] == scored[i][0]:
            j += 1
        avg_rank = (i + 1 + j) / 2.0
        rank_sum += avg_rank * sum(1 for k in range(i, j) if scored[k][1] == 1)
        i = j
    return (rank_sum - pos * (pos + 1) / 2.0) / (pos * neg)


# What the python_function flavor loads: MLflow puts <model>/code on
# sys.path, imports loader_module and calls _load_pyfunc(<model>/model.json).
LOADER = '''"""Loads the churn model for MLflow's python_function flavor."""
import json
import math


class ChurnModel:
    def __init__(self, spec):
        self.spec = spec

    def _row(self, row):
        s = self.spec
        x = []
        for i, name in enumerate(s["features"]):
            if name.startswith("contract="):
                x.append(1.0 if row.get("contract") == name[len("contract="):] else 0.0)
            else:
                x.append((float(row[name]) - s["mean"][i]) / (s["std"][i] or 1.0))
        z = s["bias"] + sum(w * v for w, v in zip(s["weights"], x))
        return 1.0 / (1.0 + math.exp(-z))

    def predict(self, model_input):
        rows = model_input.to_dict("records") if hasattr(model_input, "to_dict") else model_input
        return [int(self._row(r) >= self.spec["threshold"]) for r in rows]


def _load_pyfunc(data_path):
    with open(data_path) as f:
        return ChurnModel(json.load(f))
'''


def write_mlmodel(model_dir, acc, area):
    """The MLmodel file (YAML, as MLflow writes it), the loader and its conda env."""
    os.makedirs(os.path.join(model_dir, "code"), exist_ok=True)
    with open(os.path.join(model_dir, "code", "churn_model.py"), "w") as f:
        f.write(LOADER)
    with open(os.path.join(model_dir, "conda.yaml"), "w") as f:
        f.write("name: churn-model\nchannels:\n  - conda-forge\ndependencies:\n"
                "  - python=%d.%d\n  - pip\n  - pip:\n    - mlflow\n" % sys.version_info[:2])
    created = time.strftime("%Y-%m-%d %H:%M:%S.000000", time.gmtime())
    with open(os.path.join(model_dir, "MLmodel"), "w") as f:
        f.write("artifact_path: model\n"
                "flavors:\n"
                "  python_function:\n"
                "    code: code\n"
                "    data: model.json\n"
                "    env:\n"
                "      conda: conda.yaml\n"
                "    loader_module: churn_model\n"
                "    python_version: %s\n"
                "metadata:\n"
                "  accuracy: %.6f\n"
                "  auc: %.6f\n"
                "model_uuid: %s\n"
                "utc_time_created: '%s'\n" % (platform.python_version(), acc, area, uuid.uuid4().hex, created))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--learning-rate", type=float, default=0.1)
    ap.add_argument("--l2", type=float, default=0.001)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--model-dir", required=True)
    args = ap.parse_args()

    train_rows = read_rows(find_file(args.data, "train.csv"))
    test_rows = read_rows(find_file(args.data, "test.csv"))
    x_train, x_test, mean, std = standardize([features(r) for r in train_rows],
                                             [features(r) for r in test_rows])
    y_train = [int(r[LABEL]) for r in train_rows]
    y_test = [int(r[LABEL]) for r in test_rows]
    print("training on %d rows, testing on %d, %d features" % (len(x_train), len(x_test), len(x_train[0])))

    mlflow.start_run()
    mlflow.log_params({"epochs": args.epochs, "learning_rate": args.learning_rate, "l2": args.l2,
                       "seed": args.seed, "train_rows": len(x_train), "test_rows": len(x_test)})
    rng = random.Random(args.seed)
    w = [0.0] * len(x_train[0])
    b = 0.0
    order = list(range(len(x_train)))
    for epoch in range(args.epochs):
        rng.shuffle(order)
        # A decaying step: plain SGD at a fixed rate keeps bouncing around
        # the optimum instead of settling into it.
        lr = args.learning_rate / (1.0 + epoch)
        for i in order:
            x, y = x_train[i], y_train[i]
            err = predict(w, b, x) - y
            w = [wi - lr * (err * xi + args.l2 * wi) for wi, xi in zip(w, x)]
            b -= lr * err
        loss = log_loss(w, b, x_train, y_train)
        mlflow.log_metric("loss", loss, step=epoch)
        print("epoch %d/%d loss %.4f" % (epoch + 1, args.epochs, loss), flush=True)

    acc, area = accuracy(w, b, x_test, y_test), auc(w, b, x_test, y_test)
    mlflow.log_metrics({"accuracy": acc, "auc": area, "test_loss": log_loss(w, b, x_test, y_test)})
    print("test accuracy %.4f auc %.4f" % (acc, area))

    os.makedirs(args.model_dir, exist_ok=True)
    model = {"kind": "logistic_regression", "features": NUMERIC + ["contract=" + c for c in CONTRACTS],
             "mean": mean, "std": std, "weights": w, "bias": b, "threshold": 0.5}
    with open(os.path.join(args.model_dir, "model.json"), "w") as f:
        json.dump(model, f, indent=2)
    write_mlmodel(args.model_dir, acc, area)
    mlflow.end_run()


if __name__ == "__main__":
    main()
