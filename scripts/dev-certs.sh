#!/usr/bin/env bash
# Makes a private CA and the certificates a tierscore cluster uses, for
# trying TLS out and for the tests (production certificates come from your
# PKI or cert-manager):
#   ca.pem                  the CA every side trusts
#   coordinator.{pem,key}   the coordinator: served to API clients, and its
#                           client certificate towards the workers (mutual TLS)
#   worker.{pem,key}        every worker (one name: workers are dialled by IP
#                           and checked against --worker-tls-server-name)
#   client.{pem,key}        an API client, for a coordinator that asks for
#                           client certificates (--tls-client-ca)
# Usage: scripts/dev-certs.sh OUT_DIR [DAYS]
set -euo pipefail
out=${1:?usage: dev-certs.sh OUT_DIR [DAYS]}
days=${2:-30}
mkdir -p "$out"
cd "$out"
umask 077

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

key ca.key
openssl req -x509 -new -key ca.key -out ca.pem -days "$days" -subj "/CN=tierscore-dev-ca" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"

# leaf NAME SUBJECT_ALT_NAMES EXTENDED_KEY_USAGE
leaf() {
  key "$1.key"
  openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$1"
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nsubjectAltName=%s\nextendedKeyUsage=%s\n' \
    "$2" "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -out "$1.pem" \
    -days "$days" -extfile "$1.ext" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

leaf tierscore-coordinator "DNS:tierscore-coordinator,DNS:localhost,IP:127.0.0.1,IP:::1" \
  "serverAuth,clientAuth"
leaf tierscore-worker "DNS:tierscore-worker,DNS:localhost,IP:127.0.0.1,IP:::1" "serverAuth"
leaf tierscore-client "DNS:tierscore-client" "clientAuth"
for n in coordinator worker client; do
  mv "tierscore-$n.pem" "$n.pem"
  mv "tierscore-$n.key" "$n.key"
done
rm -f ca.srl
chmod 644 ./*.pem
