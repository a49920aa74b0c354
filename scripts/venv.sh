# Sourced by scripts/serve and scripts/test: `ensure_venv SPEC` makes .venv and installs
# authsvc (SPEC: "." or ".[dev]") into it, unless this very pyproject.toml and SPEC were
# installed there already (authsvc itself is an editable install, so code changes need no
# reinstall).

# The line .venv/.authsvc-installed holds once SPEC is installed from this pyproject.toml.
venv_stamp() {
  echo "$1 $(sha256sum pyproject.toml | cut -d' ' -f1)"
}

ensure_venv() {
  local spec=$1 stamp=.venv/.authsvc-installed
  if [[ -x .venv/bin/python && -f $stamp ]] && grep -qxF -- "$(venv_stamp "$spec")" "$stamp"; then
    return
  fi
  python3 -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$spec"
  # ".[dev]" includes "."; remember both, so `serve` after `test` does not reinstall.
  { [[ $spec == ".[dev]" ]] && venv_stamp "."; venv_stamp "$spec"; } >"$stamp"
}
