# Source me (bash/zsh): puts the cached tools (scripts/tools.sh) first on PATH
# and sets the Pulumi env the project expects. Builds nothing: run
# scripts/tools.sh first. Safe to source more than once.
#   source scripts/env.sh
_ts_env_dir="$(cd "$(dirname "${BASH_SOURCE[0]:-${(%):-%x}}")" && pwd)"
if _ts_env_path="$("$_ts_env_dir/tools.sh" --path)"; then
  # Drop cache dirs already on PATH so repeated sourcing doesn't pile them up.
  _ts_env_cache="${TS_STACK_CACHE:-$HOME/.cache/torchserve-stack}/tools/"
  PATH="$(printf '%s' "$PATH" | tr ':' '\n' | grep -v "^$_ts_env_cache" | paste -sd: -)"
  export PATH="${_ts_env_path:+$_ts_env_path:}$PATH"
  # No update nag, and never download plugins: the providers come from PATH.
  export PULUMI_SKIP_UPDATE_CHECK=true
  export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
else
  echo "scripts/env.sh: tools missing; run scripts/tools.sh first" >&2
fi
unset _ts_env_dir _ts_env_path _ts_env_cache
