"""Second-factor building blocks without storage or HTTP: sealing secrets at rest, TOTP codes,
recovery codes."""
