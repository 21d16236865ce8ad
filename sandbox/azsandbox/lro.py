"""Time-based long-running operations shared by ARM and Azure ML.

An operation does not run anywhere: its status is a function of the time
elapsed since it started (`steps` steps of settings["lro_step_seconds"]),
evaluated whenever somebody looks. When it reaches its end the owner's
`on_done(op)` callback applies the effect (set provisioningState, remove a
deleted resource...) exactly once.
"""
import threading
import time
import uuid

from .httpcore import iso_now


class Operation:
    def __init__(self, kind, target, steps, fail_error=None, on_done=None, data=None):
        self.id = str(uuid.uuid4())
        self.kind = kind
        self.target = target
        self.steps = steps
        self.started = time.time()
        self.fail_error = fail_error
        self.on_done = on_done
        self.data = data or {}
        self.done = False
        self.ended = None
        self.status = None
        self.canceled = False


class Operations:
    def __init__(self, app):
        self.app = app
        self.lock = threading.RLock()
        self.ops = {}

    def reset(self):
        with self.lock:
            self.ops = {}

    def start(self, kind, target, steps=3, fail_error=None, on_done=None, data=None):
        op = Operation(kind, target, steps, fail_error, on_done, data)
        with self.lock:
            self.ops[op.id] = op
        return op

    def step(self):
        return float(self.app.settings["lro_step_seconds"])

    def phase(self, op):
        """Number of whole steps elapsed (capped at op.steps)."""
        step = self.step()
        if step <= 0:
            return op.steps
        return min(op.steps, int((time.time() - op.started) / step))

    def advance(self, op):
        with self.lock:
            if op.done:
                return op
            if op.canceled or self.phase(op) >= op.steps:
                op.done = True
                # The operation ended when its last step did (or when it was
                # canceled), not when somebody happened to look.
                now = time.time()
                op.ended = now if op.canceled else min(now, op.started + op.steps * max(0.0, self.step()))
                op.status = "Canceled" if op.canceled else ("Failed" if op.fail_error else "Succeeded")
                if op.on_done:
                    op.on_done(op)
        return op

    def advance_all(self):
        with self.lock:
            for op in list(self.ops.values()):
                self.advance(op)

    def get(self, op_id):
        with self.lock:
            op = self.ops.get(op_id)
        if op is not None:
            self.advance(op)
        return op

    def status_body(self, op, url, running_word="InProgress"):
        body = {"id": url, "name": op.id, "status": op.status if op.done else running_word,
                "startTime": iso_now(op.started)}
        if op.done:
            body["endTime"] = iso_now(op.ended)
            body["percentComplete"] = 100.0
            if op.status == "Failed":
                body["error"] = op.fail_error
        else:
            body["percentComplete"] = round(100.0 * self.phase(op) / max(1, op.steps), 1)
        return body
