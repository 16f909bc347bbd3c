# Sourced by the other scripts: where the tools live and which Rust toolchain builds both halves.
#
# Two routes (see docs/decisions/D-004-toolchain.md):
#   native — the active rustup toolchain has the wasm32-unknown-unknown standard library: use it as it is.
#   debian — it does not (and cannot fetch it): Debian's rustc-web 1.96 builds everything, the wasm std is built from
#            rust-web-src with -Zbuild-std, and wasm-ld-22 links. One compiler for both halves, so nothing builds twice.
# The route is decided here, at run time; no machine path is committed in .cargo/config.toml.

CLEARVIEW_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CLEARVIEW_ROOT
# Tools are installed once per machine (per user), not per checkout: a fresh clone reuses them.
export CLEARVIEW_TOOLS="${CLEARVIEW_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/clearview/tools}"
mkdir -p "$CLEARVIEW_TOOLS/bin" "$CLEARVIEW_TOOLS/shims"

if [ -z "${CLEARVIEW_RUST_ROUTE:-}" ]; then
  libdir="$(rustc --print target-libdir --target wasm32-unknown-unknown 2>/dev/null || true)"
  if [ -n "$libdir" ] && ls "$libdir"/libstd-*.rlib >/dev/null 2>&1; then
    CLEARVIEW_RUST_ROUTE=native
  else
    CLEARVIEW_RUST_ROUTE=debian
  fi
fi
export CLEARVIEW_RUST_ROUTE

if [ "$CLEARVIEW_RUST_ROUTE" = debian ]; then
  # cargo-leptos runs whichever cargo is first on PATH: make it Debian's, with its rustc, clippy and rustdoc.
  for t in cargo rustc rustdoc cargo-clippy clippy-driver; do
    [ -x "/usr/bin/$t" ] && ln -sf "/usr/bin/$t" "$CLEARVIEW_TOOLS/shims/$t"
  done
  # Debian ships no rustfmt-web by default; rustup's (or any) rustfmt formats the same.
  export RUSTC=/usr/bin/rustc
  export RUSTC_BOOTSTRAP=1
  # Absent until scripts/setup installs lld: the lookup must not end a script that runs under `set -e -o pipefail`.
  wasm_ld="$(ls /usr/bin/wasm-ld-* 2>/dev/null | sort -V | tail -n 1 || true)"
  export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER="${wasm_ld:-/usr/bin/wasm-ld}"
  WASM_CARGO_ARGS=(-Zbuild-std=std,panic_abort)
  LEPTOS_LIB_ARGS=(--lib-cargo-args=-Zbuild-std=std,panic_abort)
else
  WASM_CARGO_ARGS=()
  LEPTOS_LIB_ARGS=()
fi
# erase_components as in .cargo/config.toml's [build] flags, which these replace for the browser half (D-027).
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS='--cfg getrandom_backend="wasm_js" --cfg erase_components'
export PATH="$CLEARVIEW_TOOLS/shims:$CLEARVIEW_TOOLS/bin:$CLEARVIEW_TOOLS/node_modules/.bin:$HOME/.cargo/bin:$PATH"
# Builds never need a database: queries are checked against the committed .sqlx/ data.
export SQLX_OFFLINE="${SQLX_OFFLINE:-true}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CLEARVIEW_ROOT/target}"

cv_log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
