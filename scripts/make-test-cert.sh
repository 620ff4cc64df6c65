#!/bin/bash
# scripts/make-test-cert.sh - a self-signed certificate and its key for the
# demo and the tests, made with openssl(1):
#
#   make-test-cert.sh DIR [CN] [rsa|ec]
#
# writes DIR/key.pem (unencrypted, mode 0600), DIR/cert.pem (CN and a DNS
# subjectAltName of CN, default "localhost"; valid ten years) and
# DIR/chain.pem (key then certificate, for smtpd_tls_chain_files).  rsa
# (the default) makes a 2048-bit RSA key, ec a P-256 key.  Not for
# production: nobody vouches for a self-signed certificate.
#
#   smtpd_tls_cert_file = DIR/cert.pem        or  smtpd_tls_chain_files = DIR/chain.pem
#   smtpd_tls_key_file  = DIR/key.pem
set -euo pipefail

prog=make-test-cert.sh
dir=${1:-}
cn=${2:-localhost}
kind=${3:-rsa}
[ -n "$dir" ] || { echo "usage: $prog DIR [CN] [rsa|ec]" >&2; exit 2; }
case "$kind" in
rsa) newkey=(-newkey rsa:2048) ;;
ec) newkey=(-newkey ec -pkeyopt ec_paramgen_curve:P-256) ;;
*) echo "$prog: key type must be rsa or ec, not $kind" >&2; exit 2 ;;
esac
case "$cn" in
*[!A-Za-z0-9.-]*) echo "$prog: CN must be a host name: $cn" >&2; exit 2 ;;
esac
command -v openssl >/dev/null || { echo "$prog: openssl is not installed" >&2; exit 1; }

mkdir -p "$dir"
umask 077
openssl req -x509 "${newkey[@]}" -nodes -sha256 -days 3650 \
    -subj "/CN=$cn" -addext "subjectAltName=DNS:$cn" \
    -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>"$dir/openssl.log" || {
    cat "$dir/openssl.log" >&2
    exit 1
}
rm -f "$dir/openssl.log"
cat "$dir/key.pem" "$dir/cert.pem" >"$dir/chain.pem"
chmod 644 "$dir/cert.pem"
chmod 600 "$dir/key.pem" "$dir/chain.pem"
