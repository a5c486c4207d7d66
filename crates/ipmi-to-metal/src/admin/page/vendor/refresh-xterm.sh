#!/bin/sh
# Refreshes the vendored xterm.js (the status page's live console) from npm: the minified UMD
# build, its stylesheet and its licence, at the version given (default: the one in VERSION).
# The files are committed, so that a build needs no network; run this to move to another
# version, then commit what changed. Needs npm (it only downloads the package's tarball).
set -eu
cd "$(dirname "$0")"
version="${1:-$(cat VERSION)}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "@xterm/xterm@$version" >/dev/null)
tar -xzf "$tmp"/xterm-xterm-*.tgz -C "$tmp"
cp "$tmp/package/lib/xterm.js" xterm.js
cp "$tmp/package/css/xterm.css" xterm.css
cp "$tmp/package/LICENSE" LICENSE-xterm
# The build's source map reference points at a file not served.
sed -i 's|//# sourceMappingURL=xterm.js.map||' xterm.js
echo "$version" > VERSION
echo "xterm.js $version vendored"
