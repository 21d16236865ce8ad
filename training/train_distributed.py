"""The churn model trained by a distributed (PyTorch-style) command job.

Azure ML starts this script once per process with the environment
torch.distributed's env:// rendezvous reads: MASTER_ADDR, MASTER_PORT,
WORLD_SIZE, RANK, LOCAL_RANK, NODE_RANK. Standard library only, like
train.py: every rank checks its environment and meets the others at
MASTER_ADDR:MASTER_PORT (rank 0 listens, the others report their rank), so
a job whose processes cannot see each other fails. Rank 0 then trains as
train.py does (same arguments) and logs the world size; the other ranks
only report, as data-parallel workers whose results rank 0 keeps.
"""
import os
import socket
import sys
import time

import mlflow

import train

RENDEZVOUS_SECONDS = 120


def rank_env():
    try:
        env = {k: os.environ[k] for k in ("MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "RANK",
                                          "LOCAL_RANK", "NODE_RANK")}
        rank, world = int(env["RANK"]), int(env["WORLD_SIZE"])
        int(env["MASTER_PORT"]), int(env["LOCAL_RANK"]), int(env["NODE_RANK"])
    except (KeyError, ValueError) as exc:
        sys.exit("not a distributed PyTorch process: %r (distribution.type: pytorch sets it)" % exc)
    if not 0 <= rank < world:
        sys.exit("RANK %d is outside WORLD_SIZE %d" % (rank, world))
    return env, rank, world


def meet(addr, port, rank, world):
    """Rank 0 waits for every other rank to report; the others report to it."""
    deadline = time.time() + RENDEZVOUS_SECONDS
    if rank == 0:
        seen = set()
        with socket.create_server((addr, port)) as server:
            server.settimeout(RENDEZVOUS_SECONDS)
            while len(seen) < world - 1:
                conn, _ = server.accept()
                with conn:
                    seen.add(int(conn.recv(16).decode()))
        if seen != set(range(1, world)):
            sys.exit("rendezvous: ranks %s reported, expected 1..%d" % (sorted(seen), world - 1))
        return
    while True:
        try:
            with socket.create_connection((addr, port), timeout=5) as conn:
                conn.sendall(str(rank).encode())
                return
        except OSError:
            if time.time() > deadline:
                sys.exit("rendezvous: rank 0 at %s:%d did not answer" % (addr, port))
            time.sleep(0.2)


def main():
    env, rank, world = rank_env()
    print("rank %d of %d (node %s, local rank %s), master %s:%s" % (
        rank, world, env["NODE_RANK"], env["LOCAL_RANK"], env["MASTER_ADDR"], env["MASTER_PORT"]), flush=True)
    meet(env["MASTER_ADDR"], int(env["MASTER_PORT"]), rank, world)
    print("rank %d: all %d processes met" % (rank, world), flush=True)
    if rank != 0:
        return
    train.main()
    # The job's own run (MLFLOW_RUN_ID), which train.main logged into.
    mlflow.start_run()
    mlflow.log_metric("world_size", world)
    mlflow.end_run()


if __name__ == "__main__":
    main()
