"""sandbox.sh start|stop|env|status|test|serve — the command line around the emulator.

`start` prepares SANDBOX_DIR (default /work/main/build/sandbox, i.e.
<repo>/build/sandbox): a per-run CA and server certificate, keys for the
tokens it signs, a registered client certificate, per-run secrets and storage
account keys (config.json, mode 0600); then starts Azurite and the emulator
in the background, records their pids in SANDBOX_DIR/pids, waits until both
answer, and prints the environment (also written to SANDBOX_DIR/env).
`stop` terminates exactly the recorded pids.
"""
import base64
import fcntl
import json
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from . import config as cfg
from . import pki

SANDBOX_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_ROOT = os.path.dirname(SANDBOX_ROOT)
AZURITE_BIN = os.path.join(SANDBOX_ROOT, "node_modules", ".bin", "azurite-blob")


def sandbox_dir():
    return os.path.abspath(os.environ.get("SANDBOX_DIR") or os.path.join(REPO_ROOT, "build", "sandbox"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is not alive for our purposes.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ")[-1][0] != "Z"
    except OSError:
        return True


def read_pids(d):
    try:
        with open(os.path.join(d, "pids")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def running(d):
    pids = read_pids(d)
    return bool(pids) and all(_pid_alive(p) for p in pids.values())


def secret_like_entra():
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.~"
    return "Sbx8Q~" + "".join(secrets.choice(alphabet) for _ in range(34))


def prepare(d):
    """Makes the run's keys, certificates, secrets and config.json."""
    pki_dir = os.path.join(d, "pki")
    os.makedirs(pki_dir, exist_ok=True)
    os.chmod(d, 0o700)
    ca_cert, ca_key = pki.make_ca(pki_dir)
    server_cert, server_key = pki.make_leaf(pki_dir, ca_cert, ca_key, cfg.host_names())
    signing_key = os.path.join(pki_dir, "entra-signing.key")
    pki.make_key(signing_key)
    oidc_key = os.path.join(pki_dir, "github-oidc.key")
    pki.make_key(oidc_key)
    client_cert, client_key, client_combined = pki.make_self_signed(pki_dir, "app-certificate", "/CN=sandbox-certificate-app")
    gh = {"repository": cfg.GITHUB_REPOSITORY, "run_id": cfg.GITHUB_RUN_ID, "run_attempt": cfg.GITHUB_RUN_ATTEMPT,
          "ref": cfg.GITHUB_REF, "sha": cfg.GITHUB_SHA,
          "run_backend_id": cfg.WORKFLOW_RUN_BACKEND_ID, "job_backend_id": cfg.WORKFLOW_JOB_RUN_BACKEND_ID}
    ports = {"proxy": free_port(), "control": free_port(), "identity": free_port(), "azurite": free_port()}
    conf = {
        "tenant_id": cfg.TENANT_ID, "tenant_domains": ["mlopssandbox.onmicrosoft.com"],
        "subscription_id": cfg.SUBSCRIPTION_ID, "resource_group": cfg.RESOURCE_GROUP, "workspace": cfg.WORKSPACE,
        "location": cfg.LOCATION, "ports": ports,
        "ca_cert": ca_cert, "server_cert": server_cert, "server_key": server_key,
        "signing_key": signing_key, "signing_kid": base64.urlsafe_b64encode(os.urandom(20)).rstrip(b"=").decode(),
        "oidc_key": oidc_key, "oidc_kid": os.urandom(20).hex().upper(),
        "storage_accounts": {a: base64.b64encode(os.urandom(64)).decode()
                             for a in (cfg.WORKSPACE_STORAGE_ACCOUNT, cfg.RESULTS_STORAGE_ACCOUNT)},
        "apps": {
            "secret": {"client_id": cfg.SECRET_CLIENT_ID, "client_secret": secret_like_entra()},
            "certificate": {"client_id": cfg.CERT_CLIENT_ID, "cert_path": client_cert, "key_path": client_key,
                            "combined_path": client_combined},
            "federated": {"client_id": cfg.OIDC_CLIENT_ID, "credentials": [
                {"name": "github-main", "issuer": cfg.OIDC_ISSUER, "subject": cfg.OIDC_SUBJECT, "audiences": [cfg.OIDC_AUDIENCE]},
                {"name": "github-pr", "issuer": cfg.OIDC_ISSUER, "subject": "repo:%s:pull_request" % cfg.GITHUB_REPOSITORY,
                 "audiences": [cfg.OIDC_AUDIENCE]},
                {"name": "github-env", "issuer": cfg.OIDC_ISSUER, "subject": "repo:%s:environment:production" % cfg.GITHUB_REPOSITORY,
                 "audiences": [cfg.OIDC_AUDIENCE]}]},
        },
        "managed_identity": {"client_id": cfg.MI_CLIENT_ID, "principal_id": cfg.MI_PRINCIPAL_ID,
                             "header": secrets.token_hex(16),
                             "resource_id": "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.ManagedIdentity/userAssignedIdentities/sandbox-runner-identity" % (
                                 cfg.SUBSCRIPTION_ID, cfg.RESOURCE_GROUP)},
        "github": gh,
        # GitHub REST tokens: an installation token that may comment (as
        # GITHUB_TOKEN with pull-requests: write), one that may only read
        # (a fork's pull request), and a user's token.
        "github_tokens": {"write": "ghs_" + secrets.token_urlsafe(27)[:36],
                          "readonly": "ghs_" + secrets.token_urlsafe(27)[:36],
                          "user": "ghp_" + secrets.token_urlsafe(27)[:36]},
    }
    path = os.path.join(d, "config.json")
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        json.dump(conf, f, indent=1)
    return conf


def environment(d, conf):
    """The NAME=value pairs a client of the sandbox uses, in print order."""
    sys.path.insert(0, SANDBOX_ROOT)
    from .github import GitHub

    class _Keys:        # just enough of App for GitHub's token helpers
        pass
    keys = _Keys()
    keys.oidc_key = pki.RsaPrivateKey.from_pem_file(conf["oidc_key"])
    keys.oidc_kid = conf["oidc_kid"]
    keys.github = conf["github"]
    gh = GitHub(keys)
    ports = conf["ports"]
    apps = conf["apps"]
    creds = {"clientId": apps["secret"]["client_id"], "clientSecret": apps["secret"]["client_secret"],
             "subscriptionId": conf["subscription_id"], "tenantId": conf["tenant_id"],
             "activeDirectoryEndpointUrl": "https://login.microsoftonline.com",
             "resourceManagerEndpointUrl": "https://management.azure.com/",
             "activeDirectoryGraphResourceId": "https://graph.windows.net/",
             "sqlManagementEndpointUrl": "https://management.core.windows.net:8443/",
             "galleryEndpointUrl": "https://gallery.azure.com/",
             "managementEndpointUrl": "https://management.core.windows.net/"}
    proxy = "http://127.0.0.1:%d" % ports["proxy"]
    g = conf["github"]
    env = [
        ("SANDBOX_DIR", d),
        ("SANDBOX_CONTROL_URL", "http://127.0.0.1:%d" % ports["control"]),
        ("HTTPS_PROXY", proxy), ("https_proxy", proxy),
        ("NO_PROXY", "127.0.0.1,localhost"), ("no_proxy", "127.0.0.1,localhost"),
        ("SSL_CERT_FILE", conf["ca_cert"]), ("CURL_CA_BUNDLE", conf["ca_cert"]),
        ("REQUESTS_CA_BUNDLE", conf["ca_cert"]), ("NODE_EXTRA_CA_CERTS", conf["ca_cert"]),
        ("AZURE_TENANT_ID", conf["tenant_id"]),
        ("AZURE_SUBSCRIPTION_ID", conf["subscription_id"]),
        ("AZURE_RESOURCE_GROUP", conf["resource_group"]),
        ("AZURE_ML_WORKSPACE", conf["workspace"]),
        ("AZURE_LOCATION", conf["location"]),
        ("AZURE_CLIENT_ID", apps["secret"]["client_id"]),
        ("AZURE_CLIENT_SECRET", apps["secret"]["client_secret"]),
        ("AZURE_CREDENTIALS", json.dumps(creds, separators=(",", ":"))),
        ("SANDBOX_CERT_CLIENT_ID", apps["certificate"]["client_id"]),
        ("AZURE_CLIENT_CERTIFICATE_PATH", apps["certificate"]["combined_path"]),
        ("SANDBOX_CERT_PATH", apps["certificate"]["cert_path"]),
        ("SANDBOX_CERT_KEY_PATH", apps["certificate"]["key_path"]),
        ("SANDBOX_OIDC_CLIENT_ID", apps["federated"]["client_id"]),
        ("SANDBOX_OIDC_SUBJECT", apps["federated"]["credentials"][0]["subject"]),
        ("IDENTITY_ENDPOINT", "http://127.0.0.1:%d/msi/token" % ports["identity"]),
        ("IDENTITY_HEADER", conf["managed_identity"]["header"]),
        ("SANDBOX_IMDS_ENDPOINT", "http://127.0.0.1:%d/metadata/identity/oauth2/token" % ports["identity"]),
        ("SANDBOX_MI_CLIENT_ID", conf["managed_identity"]["client_id"]),
        ("SANDBOX_STORAGE_ACCOUNT", cfg.WORKSPACE_STORAGE_ACCOUNT),
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_SERVER_URL", "https://github.com"),
        ("GITHUB_REPOSITORY", g["repository"]),
        ("GITHUB_REPOSITORY_OWNER", g["repository"].split("/")[0]),
        ("GITHUB_RUN_ID", g["run_id"]),
        ("GITHUB_RUN_ATTEMPT", g["run_attempt"]),
        ("GITHUB_REF", g["ref"]),
        ("GITHUB_SHA", g["sha"]),
        ("ACTIONS_RESULTS_URL", "https://results-receiver.actions.githubusercontent.com/"),
        ("ACTIONS_RUNTIME_URL", "https://pipelines.actions.githubusercontent.com/SbxRuntime0000000000000000000000000000000000/"),
        ("ACTIONS_RUNTIME_TOKEN", gh.runtime_token(g["run_backend_id"], g["job_backend_id"])),
        ("ACTIONS_ID_TOKEN_REQUEST_URL",
         "https://pipelines.actions.githubusercontent.com/SbxRuntime0000000000000000000000000000000000/00000000-0000-0000-0000-000000000000"
         "/_apis/distributedtask/hubs/Actions/plans/%s/jobs/%s/idtoken?api-version=2.0" % (g["run_backend_id"], g["job_backend_id"])),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", gh.id_token_request_token()),
        ("GITHUB_API_URL", "https://api.github.com"),
        ("SANDBOX_GITHUB_TOKEN", conf["github_tokens"]["write"]),
        ("SANDBOX_GITHUB_READONLY_TOKEN", conf["github_tokens"]["readonly"]),
        ("SANDBOX_GITHUB_USER_TOKEN", conf["github_tokens"]["user"]),
    ]
    return env


def write_env(d, env):
    text = "".join("export %s=%s\n" % (k, shlex.quote(v)) for k, v in env)
    path = os.path.join(d, "env")
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write(text)
    return text


def ensure_node_modules():
    """Installs Azurite once, however many sandboxes start at the same time.

    `npm ci` first deletes node_modules, so two of them at once (the test
    lanes each start a sandbox) break each other, and one sandbox can see
    the other's half-written tree.  An exclusive lock orders them, and a
    stamp written after a whole install is what says it is done: an
    install cut short leaves no stamp and is redone."""
    stamp = os.path.join(SANDBOX_ROOT, "node_modules", ".azsandbox-installed")
    with open(os.path.join(SANDBOX_ROOT, ".npm-install.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(stamp) and os.path.exists(AZURITE_BIN):
            return
        print("sandbox: installing Azurite (npm ci)...", file=sys.stderr)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=SANDBOX_ROOT, check=True,
                       stdout=sys.stderr)
        open(stamp, "w").close()


def _wait_port(port, deadline):
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def start():
    d = sandbox_dir()
    os.makedirs(d, exist_ok=True)
    if running(d):
        print("sandbox: already running in %s" % d, file=sys.stderr)
        sys.stdout.write(open(os.path.join(d, "env")).read())
        return 0
    ensure_node_modules()
    t0 = time.time()
    for stale in ("ready", "pids"):
        try:
            os.unlink(os.path.join(d, stale))
        except OSError:
            pass
    conf = prepare(d)
    ports = conf["ports"]
    azurite_dir = os.path.join(d, "azurite")
    os.makedirs(azurite_dir, exist_ok=True)
    accounts = ";".join("%s:%s" % kv for kv in conf["storage_accounts"].items())
    az_env = dict(os.environ, AZURITE_ACCOUNTS=accounts)
    for k in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        az_env.pop(k, None)
    az_log = open(os.path.join(d, "azurite.log"), "ab")
    azurite = subprocess.Popen(
        [AZURITE_BIN, "--blobHost", "127.0.0.1", "--blobPort", str(ports["azurite"]), "--location", azurite_dir,
         "--cert", conf["server_cert"], "--key", conf["server_key"], "--oauth", "basic",
         "--skipApiVersionCheck", "--disableTelemetry", "--blobKeepAliveTimeout", "300", "--silent"],
        env=az_env, stdin=subprocess.DEVNULL, stdout=az_log, stderr=subprocess.STDOUT, start_new_session=True)
    em_log = open(os.path.join(d, "emulator.out"), "ab")
    em_env = dict(os.environ, PYTHONPATH=SANDBOX_ROOT, PYTHONDONTWRITEBYTECODE="1")
    for k in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        em_env.pop(k, None)
    emulator = subprocess.Popen([sys.executable, "-m", "azsandbox", "serve", "--dir", d], env=em_env, cwd=SANDBOX_ROOT,
                                stdin=subprocess.DEVNULL, stdout=em_log, stderr=subprocess.STDOUT, start_new_session=True)
    with open(os.path.join(d, "pids"), "w") as f:
        json.dump({"azurite": azurite.pid, "emulator": emulator.pid}, f)
    deadline = t0 + 30
    ready = os.path.join(d, "ready")
    ok = _wait_port(ports["azurite"], deadline)
    while ok and not os.path.exists(ready):
        if emulator.poll() is not None or azurite.poll() is not None or time.time() > deadline:
            ok = False
            break
        time.sleep(0.05)
    if not ok:
        print("sandbox: failed to start; see %s/emulator.out and azurite.log" % d, file=sys.stderr)
        tail = open(os.path.join(d, "emulator.out"), errors="replace").read()[-2000:]
        print(tail, file=sys.stderr)
        stop()
        return 1
    text = write_env(d, environment(d, conf))
    print("sandbox: started in %.1fs (dir %s)" % (time.time() - t0, d), file=sys.stderr)
    sys.stdout.write(text)
    return 0


def stop():
    d = sandbox_dir()
    pids = read_pids(d)
    if not pids:
        print("sandbox: not running (no %s/pids)" % d, file=sys.stderr)
        return 0
    for name, pid in pids.items():
        if _pid_alive(pid):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.time() + 10
    for name, pid in pids.items():
        while _pid_alive(pid) and time.time() < deadline:
            time.sleep(0.05)
        if _pid_alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
    for f in ("pids", "ready"):
        try:
            os.unlink(os.path.join(d, f))
        except OSError:
            pass
    print("sandbox: stopped", file=sys.stderr)
    return 0


def env():
    d = sandbox_dir()
    try:
        sys.stdout.write(open(os.path.join(d, "env")).read())
    except OSError:
        print("sandbox: no environment in %s; run start" % d, file=sys.stderr)
        return 1
    return 0


def status():
    d = sandbox_dir()
    pids = read_pids(d)
    if not pids:
        print("sandbox: not running (%s)" % d)
        return 3
    for name, pid in pids.items():
        print("%s pid %d %s" % (name, pid, "running" if _pid_alive(pid) else "dead"))
    try:
        conf = cfg.load(d)
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
                "http://127.0.0.1:%d/health" % conf["ports"]["control"], timeout=2) as r:
            print("control: %s" % r.read().decode().strip().replace("\n", " "))
    except Exception as exc:
        print("control: unreachable (%s)" % exc)
        return 1
    return 0 if running(d) else 1


def main(argv):
    if not argv:
        print("usage: sandbox.sh start|stop|env|status|test", file=sys.stderr)
        return 2
    cmd = argv[0]
    if cmd == "serve":
        from .server import serve
        d = argv[argv.index("--dir") + 1] if "--dir" in argv else sandbox_dir()
        return serve(os.path.abspath(d))
    if cmd == "test":
        from .selftest import run_tests
        return run_tests(argv[1:])
    return {"start": start, "stop": stop, "env": env, "status": status}.get(cmd, lambda: 2)()
