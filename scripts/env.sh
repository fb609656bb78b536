# Source me (bash/zsh): puts the cached tools (scripts/tools.sh) and the
# archiver venv's bin (scripts/python-env.sh: torch-model-archiver) first on
# PATH and sets the Pulumi env the project expects. Builds nothing: run
# scripts/tools.sh and scripts/python-env.sh first. Safe to source more than once.
#   source scripts/env.sh
_ts_env_dir="$(cd "$(dirname "${BASH_SOURCE[0]:-${(%):-%x}}")" && pwd)"
if _ts_env_path="$("$_ts_env_dir/tools.sh" --path)"; then
  # Drop cache dirs already on PATH so repeated sourcing doesn't pile them up.
  _ts_env_cache="${TS_STACK_CACHE:-$HOME/.cache/torchserve-stack}/tools/"
  PATH="$(printf '%s' "$PATH" | tr ':' '\n' | grep -v "^$_ts_env_cache" | paste -sd: -)"
  export PATH="${_ts_env_path:+$_ts_env_path:}$PATH"
  _ts_env_venv="$("$_ts_env_dir/python-env.sh" --print)"
  if [ -f "$_ts_env_venv/.torchserve-stack-complete" ]; then
    case ":$PATH:" in *":$_ts_env_venv/bin:"*) ;; *) export PATH="$_ts_env_venv/bin:$PATH" ;; esac
  else
    echo "scripts/env.sh: no archiver venv yet; run scripts/python-env.sh (torch-model-archiver)" >&2
  fi
  # No update nag, and never download plugins: scripts/tools.sh installed the
  # providers into the plugin cache (pulumi plugin install ... --file).
  # Where scripts/tools.sh installed them (the CLI would use the passwd home, not $HOME).
  export PULUMI_HOME="${PULUMI_HOME:-$HOME/.pulumi}"
  export PULUMI_SKIP_UPDATE_CHECK=true
  export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
else
  echo "scripts/env.sh: tools missing; run scripts/tools.sh first" >&2
fi
unset _ts_env_dir _ts_env_path _ts_env_cache _ts_env_venv
