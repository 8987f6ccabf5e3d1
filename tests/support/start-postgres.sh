#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster on a free local port and prints its URL on stdout.
#
#   export APPC_TEST_POSTGRES_URL="$(tests/support/start-postgres.sh)"
#   cargo test -p appc-runtime
#   tests/support/stop-postgres.sh "$APPC_TEST_POSTGRES_URL"   # or leave it: the data lives under /tmp
#
# PostgreSQL refuses to run as root, so when this script runs as root it runs the server as the
# `postgres` system user (created by Debian's postgresql package). It installs the package with
# apt-get when no PostgreSQL binaries are found and it may (root only).
#
# The server accepts TLS (`ssl = on`) besides plain connections, with a certificate for
# `localhost` and `127.0.0.1` signed by a certificate authority made here with openssl. The files
# sit together in one folder, the folder of the server's `ssl_cert_file` (which a superuser reads
# with `SHOW ssl_cert_file`), so that the TLS tests find them from the URL alone:
#   ca.crt        the authority that signed server.crt (`sslrootcert` for sslmode=verify-full)
#   other-ca.crt  an unrelated authority, for tests of a server that must not be trusted
set -euo pipefail

find_bin_dir() {
  if command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v pg_ctl)"
    return
  fi
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

bin_dir="$(find_bin_dir)"
# Debian's postgresql package brings openssl along (through ssl-cert), but either may be missing.
if [ -z "$bin_dir" ] || [ ! -x "$bin_dir/pg_ctl" ] || ! command -v openssl >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "installing postgresql and openssl with apt-get" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql openssl >&2
    bin_dir="$(find_bin_dir)"
  else
    echo "error: PostgreSQL binaries or openssl are missing; install the postgresql and openssl packages" >&2
    exit 1
  fi
fi

# A free port: ask the kernel for one.
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
data_dir="$(mktemp -d /tmp/appc-postgres.XXXXXX)"

# The certificates for TLS, valid for a week: an authority, the server's certificate signed by it
# (a self-signed server certificate would be an authority itself, which rustls rightly refuses as
# a server's), and a second authority that signed nothing of this server.
tls_dir="$data_dir/tls"
mkdir "$tls_dir"
make_authority() {
  openssl req -x509 -newkey rsa:2048 -nodes -days 7 -subj "/CN=$1" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$tls_dir/$2.key" -out "$tls_dir/$2.crt" 2>>"$data_dir/openssl.log"
}
{
  make_authority "appc test authority" ca &&
    make_authority "appc unrelated test authority" other-ca &&
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
      -keyout "$tls_dir/server.key" -out "$tls_dir/server.csr" 2>>"$data_dir/openssl.log" &&
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE\n' \
      >"$tls_dir/server.ext" &&
    openssl x509 -req -in "$tls_dir/server.csr" -CA "$tls_dir/ca.crt" -CAkey "$tls_dir/ca.key" \
      -CAcreateserial -days 7 -extfile "$tls_dir/server.ext" -out "$tls_dir/server.crt" \
      2>>"$data_dir/openssl.log"
} || { cat "$data_dir/openssl.log" >&2; exit 1; }
# PostgreSQL refuses a key that others may read; the certificates are public.
chmod 600 "$tls_dir"/*.key
chmod 644 "$tls_dir"/*.crt

run_as=()
if [ "$(id -u)" -eq 0 ]; then
  chown -R postgres: "$data_dir"
  run_as=(runuser -u postgres --)
fi

"${run_as[@]}" "$bin_dir/initdb" --pgdata="$data_dir/data" --username=appc --auth=trust \
  --encoding=UTF8 --no-instructions >"$data_dir/initdb.log" 2>&1 ||
  { cat "$data_dir/initdb.log" >&2; exit 1; }
"${run_as[@]}" "$bin_dir/pg_ctl" --pgdata="$data_dir/data" --log="$data_dir/server.log" --wait \
  --options="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$data_dir -c fsync=off -c ssl=on -c ssl_cert_file=$tls_dir/server.crt -c ssl_key_file=$tls_dir/server.key" \
  start >&2 || { cat "$data_dir/server.log" >&2; exit 1; }

echo "$data_dir" > /tmp/appc-postgres.last
echo "$data_dir" > "/tmp/appc-postgres.port-$port"
echo "postgres://appc@127.0.0.1:$port/postgres"
