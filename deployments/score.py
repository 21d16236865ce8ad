"""Scoring script of the churn classifier's managed online deployment.

init() loads the MLflow model folder that training/train.py writes (the
model's files are under AZUREML_MODEL_DIR/<model folder>/): the MLmodel
file names the python_function loader (code/churn_model.py) and its data
(model.json, the weights). Standard library only, so the same script runs
in inference-env on Azure ML and on the host's python3 in the sandbox.

run() takes {"input_data": ...} where the rows are either records
([{"tenure_months": 3, ...}, ...]) or the split form Azure ML's MLflow
deployments take ({"columns": [...], "data": [[...], ...]}), and answers
{"probabilities": [...], "predictions": [...]}: the churn probability of
each row and its 0/1 label at the model's threshold.
"""
import importlib.util
import json
import logging
import os
import sys

model = None


def _find_mlmodel(root):
    for folder, _, files in os.walk(root):
        if "MLmodel" in files:
            return folder
    raise FileNotFoundError("no MLmodel file under AZUREML_MODEL_DIR (%s)" % root)


def _flavor(mlmodel_path):
    """The python_function fields of an MLmodel file (simple YAML: key: value)."""
    fields = {}
    in_pyfunc = False
    with open(mlmodel_path) as f:
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
            raise ValueError("MLmodel has no python_function %s" % key)
    return fields


def init():
    global model
    root = os.environ.get("AZUREML_MODEL_DIR")
    if not root:
        raise RuntimeError("AZUREML_MODEL_DIR is not set")
    folder = _find_mlmodel(root)
    flavor = _flavor(os.path.join(folder, "MLmodel"))
    code = os.path.join(folder, flavor.get("code") or "code")
    spec = importlib.util.spec_from_file_location(flavor["loader_module"],
                                                  os.path.join(code, flavor["loader_module"] + ".py"))
    loader = importlib.util.module_from_spec(spec)
    sys.modules[flavor["loader_module"]] = loader
    spec.loader.exec_module(loader)
    model = loader._load_pyfunc(os.path.join(folder, flavor["data"]))
    logging.getLogger(__name__).info("loaded churn model from %s", folder)
    print("churn model loaded from %s (%d features)" % (folder, len(model.spec["features"])))


def _rows(data):
    rows = data.get("input_data") if isinstance(data, dict) else None
    if isinstance(rows, dict) and "columns" in rows and "data" in rows:
        rows = [dict(zip(rows["columns"], values)) for values in rows["data"]]
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        raise ValueError('expected {"input_data": [{feature: value, ...}, ...]} or {"input_data": {"columns", "data"}}')
    return rows


def run(raw_data):
    rows = _rows(json.loads(raw_data))
    probabilities = [round(model._row(r), 6) for r in rows]
    threshold = model.spec.get("threshold", 0.5)
    return {"probabilities": probabilities, "predictions": [int(p >= threshold) for p in probabilities]}
