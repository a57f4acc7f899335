#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL cluster: Debian's binaries, a temp
# dir, a free loopback port. DATABASE_URL points at it; it is removed at the end.
set -euo pipefail

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
bindir=$(find_bin)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "Installing Debian's PostgreSQL server..."
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
  bindir=$(find_bin)
fi

# initdb and pg_ctl refuse to run as root: run them as the postgres user.
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
  as_pg=(runuser -u postgres --)
fi

tmp=$(mktemp -d /tmp/keyward-pg.XXXXXX)
chmod 755 "$tmp"
[ "$(id -u)" -ne 0 ] || chown postgres: "$tmp"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')

cleanup() {
  "${as_pg[@]}" "$bindir/pg_ctl" -D "$tmp/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

"${as_pg[@]}" "$bindir/initdb" -D "$tmp/data" -U keyward --auth=trust --no-sync -E UTF8 >/dev/null
"${as_pg[@]}" "$bindir/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w \
  -o "-h 127.0.0.1 -p $port -k $tmp -F -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
  start >/dev/null
echo "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"

export DATABASE_URL="postgres://keyward@127.0.0.1:$port/keyward"
"${as_pg[@]}" "$bindir/createdb" -h 127.0.0.1 -p "$port" -U keyward keyward
"$@"
