# Sourced by the bench scripts, from the repository's root, after they read their arguments:
# builds the release binary ($bin; BIN=path runs another build instead, e.g. an older one to
# compare), makes a scratch directory ($dir) and, on exit or interrupt,
# kills the processes whose ids the script adds to $pids and removes $dir. POSIX sh.
if [ -z "${BIN:-}" ]; then
    cargo build --release -q -p ipmi-to-metal
fi
bin=${BIN:-target/release/ipmi-to-metal}
dir=$(mktemp -d)
pids=""
cleanup() {
    # shellcheck disable=SC2086
    [ -z "$pids" ] || kill $pids 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
