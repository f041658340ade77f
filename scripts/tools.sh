# Sourced by the test scripts: the cargo tools the fuzzing and mutation
# steps need (cargo-fuzz, cargo-mutants). A fresh machine builds them from
# source, some four minutes of compiling; `start_tool_install` does that at
# the lowest priority in the background, where it takes only the CPU the
# tests leave idle (QEMU boots, the browser, single-threaded steps), and
# `need_tool` waits for it before a step uses a tool, installing the tool
# in the foreground if the background build did not.

tool_install_log="${TMPDIR:-/tmp}/bootmem-tool-install.log"
cargo_tools="cargo-fuzz cargo-mutants"

start_tool_install() {
  local missing=""
  for tool in $cargo_tools; do
    command -v "$tool" >/dev/null || missing="$missing $tool"
  done
  [ -n "$missing" ] || return 0
  (
    for tool in $missing; do
      nice -n 19 cargo install "$tool" --locked || true
    done
  ) >"$tool_install_log" 2>&1 &
  export BOOTMEM_TOOL_INSTALL_PID=$!
}

need_tool() {
  local tool="$1"
  local pid="${BOOTMEM_TOOL_INSTALL_PID:-}"
  if [ -n "$pid" ]; then
    while ! command -v "$tool" >/dev/null && kill -0 "$pid" 2>/dev/null; do sleep 2; done
  fi
  command -v "$tool" >/dev/null || {
    [ -s "$tool_install_log" ] && tail -20 "$tool_install_log"
    cargo install "$tool" --locked
  }
}
