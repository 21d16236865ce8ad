#!/usr/bin/env python3
"""Makes the synthetic customer-churn data of the example (data/train.csv,
data/test.csv). Seeded, so it always writes the same bytes: the dataset's
content hash, and so Workspace-CD's decision, stay stable.

Each customer has a tenure, a monthly charge, a number of support calls and
a contract type; churn is drawn from a logistic model of those, so a simple
classifier can learn it (the example training job does)."""
import math
import os
import random

rng = random.Random(20261127)
CONTRACTS = ["month-to-month", "one-year", "two-year"]


def customer(i):
    tenure = rng.randint(1, 72)
    charge = round(rng.uniform(18.0, 118.0), 2)
    calls = min(9, int(rng.expovariate(0.7)))
    contract = rng.choices(CONTRACTS, weights=[5, 3, 2])[0]
    z = (-1.2 - 0.045 * tenure + 0.022 * charge + 0.38 * calls
         - {"month-to-month": 0.0, "one-year": 0.9, "two-year": 1.8}[contract])
    churn = 1 if rng.random() < 1 / (1 + math.exp(-z)) else 0
    return [f"C{i:05d}", tenure, charge, calls, contract, churn]


def write(path, rows):
    with open(path, "w", newline="\n") as f:
        f.write("customer_id,tenure_months,monthly_charge,support_calls,contract,churned\n")
        for r in rows:
            f.write(",".join(str(v) for v in r) + "\n")


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    rows = [customer(i) for i in range(1, 1201)]
    os.makedirs(os.path.join(here, "data"), exist_ok=True)
    write(os.path.join(here, "data", "train.csv"), rows[:1000])
    write(os.path.join(here, "data", "test.csv"), rows[1000:])
