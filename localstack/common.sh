# Shared settings for the emulator scripts; sourced, not run.
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REQUIREMENTS="$HERE/requirements.txt"
MOTO_VERSION="$(sed -n 's/^moto\[server\]==//p' "$REQUIREMENTS")"
CACHE_DIR="${PROVISION_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/provision}"
# Keyed by the pinned set, so changing a pin installs afresh.
VENV="$CACHE_DIR/moto-$MOTO_VERSION-$(sha256sum "$REQUIREMENTS" | cut -c1-8)"
PORT="${PROVISION_LOCAL_PORT:-4566}"
HOST="${PROVISION_LOCAL_HOST:-127.0.0.1}"
PID_FILE="$CACHE_DIR/emulator-$PORT.pid"
LOG_FILE="$CACHE_DIR/emulator-$PORT.log"

answers() {
  "$VENV/bin/python" - "$HOST" "$PORT" <<'PY' 2>/dev/null
import sys, urllib.request
urllib.request.urlopen(f"http://{sys.argv[1]}:{sys.argv[2]}/_provision/health", timeout=1).read()
PY
}
