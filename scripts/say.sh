# Sourced by the test scripts: `say` prints a section heading with the
# seconds since the first of them started, so a slow step shows in the log.
export BOOTMEM_TEST_START="${BOOTMEM_TEST_START:-$(date +%s)}"
say() { printf '\n== [%4d s] %s\n' "$(($(date +%s) - BOOTMEM_TEST_START))" "$*"; }
