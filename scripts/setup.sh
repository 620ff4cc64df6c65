#!/bin/bash
# scripts/setup.sh - install the Debian 12 packages postern needs to build,
# run and test, when they are missing.  Idempotent; needs root only when
# something must be installed.  Package installs never start system-wide
# services: every server a test needs is started by the tests themselves,
# on loopback, and stopped afterwards.
set -eu

build_pkgs="meson ninja-build pkg-config gcc clang clang-format libevent-dev libssl-dev
  libunbound-dev liblmdb-dev lmdb-utils libpcre2-dev libcrypt-dev libcmocka-dev
  libclang-rt-14-dev openssl"
test_pkgs="python3 python3-pytest swaks postfix postfix-pcre postfix-lmdb dovecot-core
  unbound fail2ban pflogsumm postfwd iproute2 util-linux"

demo_pkgs="unbound swaks"
want="$build_pkgs"
case "${1:-}" in
--build) ;;
--demo) want="$want $demo_pkgs" ;;
*) want="$want $demo_pkgs $test_pkgs" ;;
esac

# The account the demo server (and a default install) runs as.
make_user() {
    id postern >/dev/null 2>&1 && return 0
    [ "$(id -u)" = 0 ] || return 0
    adduser --system --group --no-create-home --home /nonexistent postern >/dev/null 2>&1
}
[ "${1:-}" = --build ] || make_user

missing=()
for p in $want; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "setup.sh: run as root to install: ${missing[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Postfix is only the reference for differential tests: no system instance.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
# Keep package scripts from starting daemons (unbound, dovecot, postfix).
made_policy=no
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=yes
fi
trap '[ "$made_policy" = yes ] && rm -f /usr/sbin/policy-rc.d' EXIT
echo "setup.sh: installing ${missing[*]}"
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup.sh: done"
