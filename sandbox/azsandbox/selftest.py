"""`sandbox.sh test`: start a private sandbox in a temporary SANDBOX_DIR on free
ports, run the unittest suite in sandbox/tests and smoke.sh against it, stop
it, and end with the line `N passed, M failed[, K skipped]`."""
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

from .cli import SANDBOX_ROOT


class _Counting(unittest.TextTestResult):
    pass


def _load_env(text):
    env = {}
    for line in text.splitlines():
        if line.startswith("export "):
            name, _, value = line[7:].partition("=")
            env[name] = shlex.split(value)[0] if value else ""
    return env


def run_tests(argv):
    tmp = tempfile.mkdtemp(prefix="azsandbox-test-")
    env = dict(os.environ, SANDBOX_DIR=tmp)
    for k in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        env.pop(k, None)
    sh = os.path.join(SANDBOX_ROOT, "sandbox.sh")
    t0 = time.time()
    started = subprocess.run([sh, "start"], env=env, capture_output=True, text=True)
    if started.returncode != 0:
        sys.stderr.write(started.stderr)
        print("0 passed, 1 failed")
        return 1
    print("sandbox: test instance started in %.1fs" % (time.time() - t0), file=sys.stderr)
    passed = failed = skipped = 0
    try:
        os.environ.update(_load_env(started.stdout))
        os.environ["SANDBOX_DIR"] = tmp
        sys.path.insert(0, SANDBOX_ROOT)
        loader = unittest.TestLoader()
        pattern = argv[0] if argv else "test*.py"
        suite = loader.discover(os.path.join(SANDBOX_ROOT, "tests"), pattern=pattern, top_level_dir=SANDBOX_ROOT)
        result = unittest.TextTestRunner(verbosity=2, stream=sys.stderr).run(suite)
        failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
        skipped = len(result.skipped)
        passed = result.testsRun - failed - skipped
        if not argv:
            smoke = subprocess.run([os.path.join(SANDBOX_ROOT, "smoke.sh")], env=dict(os.environ), capture_output=True, text=True)
            sys.stderr.write(smoke.stdout[-3000:] + smoke.stderr[-3000:])
            if smoke.returncode == 0:
                passed += 1
                print("smoke.sh ... ok", file=sys.stderr)
            else:
                failed += 1
                print("smoke.sh ... FAIL (exit %d)" % smoke.returncode, file=sys.stderr)
    finally:
        subprocess.run([sh, "stop"], env=env, capture_output=True)
        if failed == 0:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("sandbox: logs kept in %s" % tmp, file=sys.stderr)
    line = "%d passed, %d failed" % (passed, failed)
    if skipped:
        line += ", %d skipped" % skipped
    print(line)
    return 1 if failed else 0
