"""The command line's own parts that need no running sandbox."""
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Behaves as `npm ci` does to the tree: deletes node_modules first, then
# writes it back slowly, so a second install or a reader in between sees
# a tree that is not there or not whole.
FAKE_NPM = textwrap.dedent("""\
    #!/bin/sh
    echo run >>"$NPM_RUNS"
    rm -rf node_modules
    mkdir -p node_modules/.bin
    sleep 0.4
    touch node_modules/.bin/azurite-blob
    """)

# One sandbox's start, as far as the install: ensure_node_modules in a
# tree of its own, then a check that the tree is whole when it returns.
STARTER = textwrap.dedent("""\
    import os, sys
    from azsandbox import cli
    cli.SANDBOX_ROOT = sys.argv[1]
    cli.AZURITE_BIN = os.path.join(sys.argv[1], "node_modules", ".bin", "azurite-blob")
    cli.ensure_node_modules()
    sys.exit(0 if os.path.exists(cli.AZURITE_BIN) else 3)
    """)


class EnsureNodeModulesTests(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = self.tmp.name
        bindir = os.path.join(self.root, "bin")
        os.mkdir(bindir)
        with open(os.path.join(bindir, "npm"), "w") as f:
            f.write(FAKE_NPM)
        os.chmod(os.path.join(bindir, "npm"), 0o755)
        self.runs = os.path.join(self.root, "runs")
        self.env = dict(os.environ, PATH=bindir + os.pathsep + os.environ["PATH"],
                        NPM_RUNS=self.runs, PYTHONPATH=HERE, PYTHONDONTWRITEBYTECODE="1")

    def tearDown(self):
        self.tmp.cleanup()

    def start(self, n):
        procs = [subprocess.Popen([sys.executable, "-c", STARTER, self.root], env=self.env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for _ in range(n)]
        return [p.wait(timeout=60) for p in procs]

    def npm_runs(self):
        if not os.path.exists(self.runs):
            return 0
        with open(self.runs) as f:
            return len(f.readlines())

    def test_sandboxes_started_together_install_once(self):
        # The CI's two test lanes each start a sandbox in a fresh clone:
        # two `npm ci` at once broke each other (ENOTDIR).
        self.assertEqual(self.start(4), [0, 0, 0, 0])
        self.assertEqual(self.npm_runs(), 1)

    def test_an_install_cut_short_is_done_again(self):
        os.makedirs(os.path.join(self.root, "node_modules", ".bin"))
        open(os.path.join(self.root, "node_modules", ".bin", "azurite-blob"), "w").close()
        self.assertEqual(self.start(1), [0])
        self.assertEqual(self.npm_runs(), 1)
        self.assertEqual(self.start(1), [0])
        self.assertEqual(self.npm_runs(), 1)


if __name__ == "__main__":
    unittest.main()
