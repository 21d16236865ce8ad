"""Fixed sandbox identities and the per-run configuration file.

The ids are GUID-shaped and fixed so that logs and test expectations stay
readable; secrets and keys are made per run by `sandbox.sh start` and live only
in $SANDBOX_DIR (config.json and env, both mode 0600).
"""
import json
import os

TENANT_ID = "5f0c6f2a-8a3b-4c1d-9e2f-7a6b5c4d3e21"
SUBSCRIPTION_ID = "2b6e9f31-4c7a-4d8e-a1f2-3c4d5e6f7a80"
RESOURCE_GROUP = "mlops-sandbox-rg"
WORKSPACE = "mlops-sandbox-ws"
LOCATION = "eastus"

SECRET_CLIENT_ID = "0e3f8a51-7b2c-4d9e-8f10-1a2b3c4d5e61"   # app with a client secret
CERT_CLIENT_ID = "0e3f8a51-7b2c-4d9e-8f10-1a2b3c4d5e62"     # app with a registered certificate
OIDC_CLIENT_ID = "0e3f8a51-7b2c-4d9e-8f10-1a2b3c4d5e63"     # app with a GitHub federated credential
MI_CLIENT_ID = "0e3f8a51-7b2c-4d9e-8f10-1a2b3c4d5e64"       # the managed identity
MI_PRINCIPAL_ID = "7c1d2e3f-4a5b-4c6d-8e7f-90a1b2c3d4e5"

WORKSPACE_STORAGE_ACCOUNT = "mlopssandboxsa"
RESULTS_STORAGE_ACCOUNT = "productionresultssa0"
WORKSPACE_BLOB_CONTAINER = "azureml-blobstore-3f6c2a1e-9b8d-4e7f-a0b1-c2d3e4f5a6b7"
ARTIFACT_CONTAINER = "azureml"       # job logs and outputs: ExperimentRun/dcid.<job>/...
RESULTS_CONTAINER = "actions-results"

GITHUB_REPOSITORY = "sandbox-org/mlops-sandbox"
GITHUB_REPOSITORY_OWNER = "sandbox-org"
GITHUB_RUN_ID = "1000001"
GITHUB_RUN_ATTEMPT = "1"
GITHUB_REF = "refs/heads/main"
GITHUB_SHA = "3c5e0a7b9d1f2a4c6e8b0d2f4a6c8e0b2d4f6a8c"
WORKFLOW_RUN_BACKEND_ID = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
WORKFLOW_JOB_RUN_BACKEND_ID = "b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e"
OIDC_ISSUER = "https://token.actions.githubusercontent.com"
OIDC_AUDIENCE = "api://AzureADTokenExchange"
OIDC_SUBJECT = "repo:%s:ref:%s" % (GITHUB_REPOSITORY, GITHUB_REF)

# The stable Microsoft.MachineLearningServices api-versions that serve the workspace
# assets, jobs and online endpoints (azure-rest-api-specs .../stable/<version>/mfe.json);
# any other version is refused as Azure refuses it (NoRegisteredProviderFound).
SUPPORTED_ML_API_VERSIONS = ("2022-05-01", "2022-10-01", "2023-04-01", "2023-10-01", "2024-04-01", "2024-10-01",
                             "2025-06-01", "2025-09-01", "2025-12-01", "2026-03-01")

# Defaults a test may change at run time through the control API (POST /config).
DEFAULT_SETTINGS = {
    "token_lifetime_seconds": 3599,        # Entra and managed identity access tokens
    "oidc_token_lifetime_seconds": 300,    # GitHub OIDC ID tokens
    "oidc_subject": OIDC_SUBJECT,          # `sub` of the next GitHub OIDC tokens
    "lro_step_seconds": 0.5,               # time per step of every async walk
    "retry_after_seconds": 1,              # Retry-After on LRO answers
    "job_step_seconds": 0.3,               # time per job status before Running
    "job_timeout_seconds": 600,            # hard cap on a job's subprocess
    # How long a "minute" of Azure Monitor metrics lasts (monitor.py).
    "metrics_grain_seconds": float(os.environ.get("SANDBOX_METRICS_GRAIN_SECONDS") or 60),
}


def host_names(location=LOCATION):
    """Every host the proxy terminates TLS for (all SANs of the one leaf cert)."""
    return [
        "login.microsoftonline.com",
        "management.azure.com",
        "*.blob.core.windows.net",
        "*.api.azureml.ms",
        "%s.api.azureml.ms" % location,
        "*.%s.inference.ml.azure.com" % location,
        "*.inference.ml.azure.com",
        "*.actions.githubusercontent.com",
        "token.actions.githubusercontent.com",
        "pipelines.actions.githubusercontent.com",
        "results-receiver.actions.githubusercontent.com",
        "api.github.com",
        "ml.azure.com",
    ]


def load(sandbox_dir):
    with open(os.path.join(sandbox_dir, "config.json")) as f:
        return json.load(f)
