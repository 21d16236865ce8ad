"""Local Azure sandbox: a stateful stand-in for Entra ID, ARM, Azure ML,
MLflow tracking, the GitHub Actions OIDC and results services, reached through
an HTTPS CONNECT proxy that serves the production host names with a per-run CA.
Blobs live in Azurite. Python 3 standard library only."""
