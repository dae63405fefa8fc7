#!/usr/bin/env bash
# The whole test suite: starts the test servers (installing them when missing), then runs
# formatting, lints, builds of each backend feature alone, every test and doctest (the
# README's examples included), each benchmark once in test mode, and the PHP peer of the
# benchmarks once in quick mode.
# This is the command the README names and CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."

# The servers are started below, so every server test must run: none may skip.
export CACHE_TEST_REQUIRE_SERVERS=1

exec scripts/test-servers.sh bash -euo pipefail -c '
  echo "== cargo fmt"
  cargo fmt --all -- --check
  echo "== cargo clippy (its incompatible_msrv lint holds the code to the declared rust-version)"
  cargo clippy --workspace --all-targets --all-features -- -D warnings
  echo "== cargo check: what users build, each backend feature alone and no default features"
  for features in "" moka memory redis memcached php; do
    cargo check --quiet -p cache-store --no-default-features --features "$features"
  done
  cargo check --quiet -p cache-pool -p simple-cache -p doctrine-compat -p session-bridge \
    --no-default-features
  echo "== cargo test (unit, integration, property tests; benches run once in test mode)"
  cargo test --workspace --all-targets --all-features
  echo "== the PHP peer of the benches, once in quick mode (so it cannot rot)"
  php -d display_errors=stderr benches/php/peer.php --quick --out target/php-peer-quick.json \
    >/dev/null
  echo "== cargo test --doc"
  cargo test --workspace --doc --all-features
  echo "== cargo doc (broken or redundant doc links fail)"
  RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --all-features
'
