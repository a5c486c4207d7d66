#!/bin/sh
# The Debian package, end to end, on this machine (root, Debian; .ci/run installs cargo-deb,
# systemd and ipmitool first): builds the .deb, installs it with `dpkg -i` into the real
# system, checks every file, the conffiles, the user and the unit (`systemd-analyze verify`),
# then runs the installed service the way its unit does (as user ipmi-to-metal, with only
# CAP_NET_BIND_SERVICE, the environment file, the state directory) on 127.0.0.1:623, asks it
# with ipmitool, stops it with SIGTERM (exit 0), and removes and purges the package. Leaves
# the system as it found it (the user too, if this script created it). Fails loudly: every
# check is an `ok`/`fail` line and the exit status.
set -eu
cd "$(dirname "$0")/.."

fails=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*" >&2; fails=$((fails + 1)); }
check() { # check DESCRIPTION COMMAND...
    what=$1
    shift
    if "$@" >/dev/null 2>&1; then ok "$what"; else fail "$what"; fi
}

[ "$(id -u)" -eq 0 ] || { echo "test-deb.sh installs a package: run it as root" >&2; exit 1; }
for tool in dpkg cargo-deb systemd-analyze ipmitool setpriv; do
    command -v "$tool" >/dev/null || { echo "missing $tool (.ci/run installs it)" >&2; exit 1; }
done
if dpkg-query -W -f='${Status}' ipmi-to-metal 2>/dev/null | grep -q installed; then
    echo "ipmi-to-metal is already installed here: not touching it" >&2
    exit 1
fi

user_existed=no
getent passwd ipmi-to-metal >/dev/null && user_existed=yes
server=""
cleanup() {
    [ -n "$server" ] && kill -9 "$server" 2>/dev/null || true
    dpkg --purge ipmi-to-metal >/dev/null 2>&1 || true
    rm -rf /var/lib/ipmi-to-metal /var/log/ipmi-to-metal
    if [ "$user_existed" = no ] && getent passwd ipmi-to-metal >/dev/null; then
        userdel ipmi-to-metal 2>/dev/null || true
        groupdel ipmi-to-metal 2>/dev/null || true
    fi
}
trap cleanup EXIT

deb=$(packaging/build-deb.sh | tail -n 1)
ok "built $deb"
version=$(dpkg-deb -f "$deb" Version)

# What the package declares.
check "depends on systemd or a standalone systemd-sysusers" \
    sh -c "dpkg-deb -f '$deb' Depends | grep -q 'systemd | systemd-standalone-sysusers'"
check "recommends libvirt0 (loaded by the libvirt backend's first call), not depends on it" \
    sh -c "dpkg-deb -f '$deb' Recommends | grep -qx libvirt0 && ! dpkg-deb -f '$deb' Depends | grep -q libvirt"
dpkg -i "$deb" >/dev/null
ok "dpkg -i $(basename "$deb")"
check "installed at version $version" \
    sh -c "dpkg-query -W -f='\${Status} \${Version}' ipmi-to-metal | grep -qx 'install ok installed $version'"

# Its files.
for f in /usr/bin/ipmi-to-metal \
    /usr/lib/systemd/system/ipmi-to-metal.service \
    /usr/lib/sysusers.d/ipmi-to-metal.conf \
    /etc/ipmi-to-metal/config.toml \
    /etc/ipmi-to-metal/environment \
    /usr/share/man/man1/ipmi-to-metal.1.gz \
    /usr/share/man/man1/ipmi-to-metal-serve.1.gz \
    /usr/share/man/man1/ipmi-to-metal-check-config.1.gz \
    /usr/share/bash-completion/completions/ipmi-to-metal \
    /usr/share/zsh/vendor-completions/_ipmi-to-metal \
    /usr/share/fish/vendor_completions.d/ipmi-to-metal.fish \
    /usr/share/doc/ipmi-to-metal/README.md \
    /usr/share/doc/ipmi-to-metal/docs/README.md \
    /usr/share/doc/ipmi-to-metal/docs/getting-started.md; do
    check "installs $f" test -s "$f"
done
check "the unit is the one in packaging/" cmp packaging/ipmi-to-metal.service /usr/lib/systemd/system/ipmi-to-metal.service
check "the example configuration is the one in packaging/" cmp packaging/config.toml /etc/ipmi-to-metal/config.toml
check "the environment file is root's alone (0600)" \
    sh -c "[ \"\$(stat -c '%a %U' /etc/ipmi-to-metal/environment)\" = '600 root' ]"
conffiles=$(dpkg-query -W -f='${Conffiles}' ipmi-to-metal)
for f in /etc/ipmi-to-metal/config.toml /etc/ipmi-to-metal/environment; do
    case "$conffiles" in *"$f "*) ok "$f is a conffile" ;; *) fail "$f is a conffile" ;; esac
done
check "the binary runs: --version" sh -c "/usr/bin/ipmi-to-metal --version | grep -qx 'ipmi-to-metal $version' || /usr/bin/ipmi-to-metal --version | grep -q '^ipmi-to-metal ${version%-*}$'"
check "man finds the page" sh -c "man -w ipmi-to-metal | grep -q /usr/share/man/man1/ipmi-to-metal.1.gz"
check "the page renders without warnings" sh -c "[ -z \"\$(man --warnings ipmi-to-metal-serve 2>&1 >/dev/null)\" ]"
check "the bash completion parses" bash -n /usr/share/bash-completion/completions/ipmi-to-metal

# The user, created by systemd-sysusers from the package's sysusers.d file.
check "user ipmi-to-metal exists, a system user" \
    sh -c "[ \"\$(id -u ipmi-to-metal)\" -lt 1000 ]"
check "its home is the state directory, its shell nologin" \
    sh -c "getent passwd ipmi-to-metal | grep -q ':/var/lib/ipmi-to-metal:/usr/sbin/nologin$'"
check "group ipmi-to-metal exists" getent group ipmi-to-metal
check "the service is installed disabled (nothing to serve until configured)" \
    sh -c "! [ -e /etc/systemd/system/multi-user.target.wants/ipmi-to-metal.service ]"

# The unit, as systemd reads it.
if out=$(systemd-analyze verify /usr/lib/systemd/system/ipmi-to-metal.service 2>&1) && [ -z "$out" ]; then
    ok "systemd-analyze verify: clean"
else
    fail "systemd-analyze verify: $out"
fi
for setting in User=ipmi-to-metal AmbientCapabilities=CAP_NET_BIND_SERVICE \
    CapabilityBoundingSet=CAP_NET_BIND_SERVICE NoNewPrivileges=yes ProtectSystem=strict \
    ProtectHome=yes PrivateTmp=yes StateDirectory=ipmi-to-metal LogsDirectory=ipmi-to-metal \
    Restart=on-failure KillMode=mixed; do
    check "the unit sets $setting" grep -qx "$setting" /usr/lib/systemd/system/ipmi-to-metal.service
done

# The installed service, run as its unit runs it (this container has no systemd as PID 1 to
# start it): the environment file, the state directory as StateDirectory= makes it, user
# ipmi-to-metal, CAP_NET_BIND_SERVICE as its only capability, no new privileges.
password="pkg-test-$$"
printf 'IPMI_ADMIN_PASSWORD=%s\n' "$password" >>/etc/ipmi-to-metal/environment
install -d -m 0700 -o ipmi-to-metal -g ipmi-to-metal /var/lib/ipmi-to-metal
run_as_unit() { # run_as_unit CAPS: becomes the unit's ExecStart as its user, with CAPS ambient
    caps=$1
    set --
    while IFS= read -r line; do
        case $line in '' | '#'*) ;; *) set -- "$@" "$line" ;; esac
    done </etc/ipmi-to-metal/environment
    exec env -i PATH=/usr/bin:/bin STATE_DIRECTORY=/var/lib/ipmi-to-metal IPMI_TO_METAL_LOG=info "$@" \
        setpriv --reuid=ipmi-to-metal --regid=ipmi-to-metal --init-groups \
        --inh-caps="$caps" --ambient-caps="$caps" --bounding-set="$caps" --no-new-privs \
        /usr/bin/ipmi-to-metal serve --config /etc/ipmi-to-metal/config.toml
}
log=$(mktemp)
# Without the capability the user cannot bind port 623: the capability is what makes it work.
if (run_as_unit -all) >"$log" 2>&1; then
    fail "without CAP_NET_BIND_SERVICE it should not bind port 623"
else
    grep -q 'cannot listen on 127.0.0.1:623' "$log" && ok "without CAP_NET_BIND_SERVICE: port 623 refused" ||
        fail "without CAP_NET_BIND_SERVICE: $(cat "$log")"
fi
# In a background subshell that becomes the server (exec): $! is the server's own PID.
run_as_unit -all,+net_bind_service >"$log" 2>&1 &
server=$!
answer=""
for _ in $(seq 50); do
    answer=$(IPMI_PASSWORD="$password" timeout 10 ipmitool -I lanplus -H 127.0.0.1 -p 623 -U admin -E \
        -N 1 -R 1 chassis power status 2>/dev/null) && break
    sleep 0.2
done
[ "$answer" = "Chassis Power is on" ] && ok "ipmitool through the installed service: $answer" ||
    fail "ipmitool through the installed service: '$answer'; log: $(cat "$log")"
check "the server runs as ipmi-to-metal" sh -c "[ \"\$(ps -o user= -p $server)\" = ipmi-to-metal ]"
check "its SEL database is in the state directory, the user's own" \
    sh -c "[ \"\$(stat -c %U /var/lib/ipmi-to-metal/sel.redb)\" = ipmi-to-metal ]"
kill -TERM "$server"
status=0
wait "$server" || status=$?
server=""
[ "$status" -eq 0 ] && ok "SIGTERM: exit 0" || fail "SIGTERM: exit $status; log: $(cat "$log")"
rm -f "$log"

# Removal keeps the configuration; purging removes it.
dpkg -r ipmi-to-metal >/dev/null
check "dpkg -r removes the binary" test ! -e /usr/bin/ipmi-to-metal
check "dpkg -r keeps the configuration" test -e /etc/ipmi-to-metal/config.toml
dpkg --purge ipmi-to-metal >/dev/null
check "dpkg --purge removes the configuration" test ! -e /etc/ipmi-to-metal/config.toml

if [ "$fails" -ne 0 ]; then
    echo "test-deb.sh: $fails check(s) failed" >&2
    exit 1
fi
echo "test-deb.sh: all checks passed"
