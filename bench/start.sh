# Sourced by the bench scripts, from the repository's root, after they read their arguments:
# builds the release binary ($bin), makes a scratch directory ($dir) and, on exit or interrupt,
# kills the processes whose ids the script adds to $pids and removes $dir. POSIX sh.
cargo build --release -q -p ipmi-to-metal
bin=target/release/ipmi-to-metal
dir=$(mktemp -d)
pids=""
cleanup() {
    # shellcheck disable=SC2086
    [ -z "$pids" ] || kill $pids 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
