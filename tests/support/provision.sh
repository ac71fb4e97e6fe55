# Progress lines of the provisioning scripts (sourced): on stderr, since their stdout is JSON.
log() { echo "provision: $*" >&2; }

# timed WHAT COMMAND...: runs the command between a start and a "done in Ns" line.
timed() {
  local what=$1 start=$SECONDS
  shift
  log "$what ..."
  "$@"
  log "$what done in $((SECONDS - start))s"
}
