#!/usr/bin/env bash
# Same output as the release: runs the built driftwatch on fixed inputs, as users run it, and
# compares what it writes with the outputs of the release the goldens were taken from (the
# commit in tests/data/golden/outputs.sha256's header). A rewrite of the engine may change speed
# and size, nothing a user sees.
#
# Inputs, built in a temporary directory at every run:
#   bench      state_bench's generated stream, 20,000 records (tests/gen_stream bench 20000), with
#              the built-in defaults for policy
#   identity   the Kafka tests' generated stream with identity calls (access keys created and
#              deleted, console logins without MFA), 5,000 records over 20 accounts
#   incident   the quickstart's sample incident (config/samples/incident.ndjson)
#   corpus-*   every file of the shared corpus (../shared/corpus, never copied into the
#              repository): the streams and Config items as they are, the notifications
#              wrapped in change_notifications.ndjson unwrapped, and the events of the labelled
#              cases. A missing corpus fails the test.
# Every input but bench is replayed with the frozen policy tests/data/golden/policy.yaml.
# Outputs compared, per input: `replay --format ndjson` (the findings stream), its `--stats`
# counters and dead letters, `replay --format text` and `--format ocsf`, and on the state the
# replay kept: `state` (now, and at a time in the middle for the generated streams), `findings`
# (ndjson, ocsf, table), `history --all`, `history --documents` of a few resources, `incident`
# reports (markdown, ndjson, checklist) and a `timeline`.
# Metrics are not compared: only `driftwatch run` exposes them, over HTTP from a running service;
# replay's counters (`--stats`) are.
#
# Normalized before comparing (everything else must be byte-equal):
#   - the temporary directory's path (inputs and states live there; a file's position key and the
#     state directory can show it; none does today) becomes <work>;
#   - `--stats`' "seconds" (wall-clock time of the replay) becomes 0.
# Commands run with TZ=UTC and LC_ALL=C, and DRIFTWATCH_RULES_DIR unset: each binary reads its
# built-in pack.
#
# The outputs are too large to commit (some MB); tests/data/golden/outputs.sha256 keeps one line
# per output file: sha256, line count, name.
#
# usage: golden_output.sh                   compare $DW_BINARY with the goldens (the ctest test)
#        golden_output.sh --update BIN      write the goldens from BIN's outputs
#        golden_output.sh --baseline BIN    run BIN and $DW_BINARY on the same inputs and show a
#                                           diff of their outputs (for debugging a difference)
#        --keep DIR     keep the outputs (and states) in DIR instead of removing them
#        --rules DIR    the rule pack BIN (of --update/--baseline) reads as its built-in pack;
#                       default: config/rules of the release commit, taken from git (a binary
#                       built elsewhere reads the pack of the tree it was built in)
# Environment: DW_BINARY (default build/driftwatch), DW_GEN_STREAM (default
# build/tests/gen_stream), DW_CORPUS_DIR (default ../shared/corpus).
set -euo pipefail
root="${DW_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
bin="${DW_BINARY:-$root/build/driftwatch}"
gen="${DW_GEN_STREAM:-$root/build/tests/gen_stream}"
corpus="${DW_CORPUS_DIR:-$root/../shared/corpus}"
golden="$root/tests/data/golden"
manifest="$golden/outputs.sha256"
policy="$golden/policy.yaml"
release=9854218  # the release whose outputs the goldens are; --update writes it in the header

fail() { echo "golden_output: FAIL: $*" >&2; exit 1; }
usage() { sed -n '/^# usage:/,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; exit 2; }

mode=check other="" keep="" other_rules=""
while [ $# -gt 0 ]; do
  case "$1" in
    --update | --baseline)
      [ $# -ge 2 ] || usage
      mode="${1#--}" other="$2"; shift 2 ;;
    --keep) [ $# -ge 2 ] || usage; keep="$2"; shift 2 ;;
    --rules) [ $# -ge 2 ] || usage; other_rules="$2"; shift 2 ;;
    -h | --help) usage ;;
    *) echo "golden_output: unknown argument '$1'" >&2; usage ;;
  esac
done

[ -d "$corpus/streams" ] && [ -d "$corpus/config" ] && [ -d "$corpus/labelled" ] ||
  fail "shared corpus not found at $corpus: the folder beside the repository (../shared/corpus, \
see its README.md) holds the real AWS events this test replays; it is not part of the repository"
[ -x "$gen" ] || fail "$gen not found: build the gen_stream target (tests/tools/gen_stream.cc)"
if [ "$mode" != update ]; then
  [ -x "$bin" ] || fail "$bin not found: build the driftwatch target or set DW_BINARY"
fi
if [ "$mode" != check ]; then
  [ -x "$other" ] || fail "$other is not an executable"
  other="$(cd "$(dirname "$other")" && pwd)/$(basename "$other")"
fi
if [ "$mode" = check ] || [ "$mode" = baseline ]; then
  [ -f "$manifest" ] || fail "$manifest missing: write it with --update BIN"
fi

if [ -n "$keep" ]; then
  rm -rf "$keep"
  mkdir -p "$keep"
  work="$(cd "$keep" && pwd)"
else
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
fi
export TZ=UTC LC_ALL=C
unset DRIFTWATCH_RULES_DIR

# The release's rule pack, for a binary other than the one under test.
if [ "$mode" != check ] && [ -z "$other_rules" ]; then
  mkdir -p "$work/release-pack"
  git -C "$root" archive "$release" config/rules | tar -x -C "$work/release-pack" ||
    fail "cannot take config/rules of commit $release from git; pass --rules DIR"
  other_rules="$work/release-pack/config/rules"
fi

# --- the inputs ---------------------------------------------------------------------------------
in="$work/in"
mkdir -p "$in"
"$gen" bench 20000 >"$in/bench.ndjson"
"$gen" cloudtrail 5000 20 >"$in/identity.ndjson"
cp "$root/config/samples/incident.ndjson" "$in/incident.ndjson"
corpus_cases=()
for f in "$corpus"/streams/*.ndjson "$corpus"/config/*.ndjson; do
  name="corpus-$(basename "$(dirname "$f")")-$(basename "$f" .ndjson)"
  cp "$f" "$in/$name.ndjson"
  corpus_cases+=("$name")
done
for f in "$corpus"/labelled/*.ndjson; do
  name="corpus-labelled-$(basename "$f" .ndjson)"
  # The events of the labelled cases, one a line (as tests/scripts/ocsf_schema.sh feeds them).
  /usr/bin/python3 -c 'import json, sys
for line in open(sys.argv[1]):
    print(json.dumps(json.loads(line)["event"]))' "$f" >"$in/$name.ndjson"
  corpus_cases+=("$name")
done
# AWS Config's notifications as SNS delivers them, from the wrapped ones (the file as it is stays
# a case: its wrapper is not an AWS shape, every line is a dead letter).
/usr/bin/python3 -c 'import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    if "message" in o:
        print(json.dumps(o["message"]))' "$corpus/config/change_notifications.ndjson" \
  >"$in/corpus-config-change_notifications-messages.ndjson"
corpus_cases+=(corpus-config-change_notifications-messages)
[ "${#corpus_cases[@]}" -ge 9 ] ||
  fail "expected at least 8 files in $corpus, found $((${#corpus_cases[@]} - 1))"

# --- the outputs of one binary ------------------------------------------------------------------
# produce BIN RULES OUT: every output of BIN (its pack: RULES, empty for the built-in one) in OUT.
produce() {
  local b="$1" rules="$2" out="$3"
  mkdir -p "$out"
  dw() {
    if [ -n "$rules" ]; then DRIFTWATCH_RULES_DIR="$rules" "$b" "$@"; else "$b" "$@"; fi
  }
  # replay_case NAME [REPLAY OPTIONS...]: the replay outputs and the state questions of one input.
  replay_case() {
    local name="$1"
    shift
    local o="$out/$name" s="$out/state/$name" input="$in/$name.ndjson"
    mkdir -p "$o"
    dw replay --quiet --state "$s" --format ndjson --stats "$o/stats.json" \
      --dead-letter "$o/dead-letter.ndjson" "$@" "$input" >"$o/replay.ndjson" ||
      fail "$b: replay of $name"
    local f
    for f in text ocsf; do
      dw replay --quiet --format "$f" "$@" "$input" >"$o/replay.$f" ||
        fail "$b: replay --format $f of $name"
    done
    dw state --state "$s" --format ndjson >"$o/state.ndjson"
    dw state --state "$s" >"$o/state.table"
    dw findings --state "$s" --format ndjson >"$o/findings.ndjson"
    dw findings --state "$s" --format ocsf >"$o/findings.ocsf"
    dw findings --state "$s" >"$o/findings.table"
    dw history --state "$s" --all --format ndjson >"$o/history-all.ndjson"
  }
  # ask NAME FILE COMMAND...: one more question of NAME's state, its answer in FILE.
  ask() {
    local name="$1" file="$2" cmd="$3"
    shift 3
    dw "$cmd" --state "$out/state/$name" "$@" >"$out/$name/$file" || fail "$b: $cmd $* on $name"
  }

  replay_case bench
  ask bench state-at.ndjson state --at 2024-06-01T12:00:00Z --format ndjson
  for r in sg-1007 trail-3 user-10 bucket-100 i-1009; do
    ask bench "history-$r.ndjson" history --format ndjson --documents "$r"
    ask bench "history-$r.table" history "$r"
  done
  ask bench incident-principal.md incident --principal arn:aws:iam::111122223333:user/dev3
  ask bench incident-principal.ndjson incident --principal arn:aws:iam::111122223333:user/dev3 \
    --format ndjson
  ask bench incident-key.ndjson incident --access-key AKIAEXAMPLE5 \
    --from 2024-06-01T11:00:00Z --to 2024-06-01T12:00:00Z --format ndjson
  ask bench incident-ip.checklist incident --source-ip 198.51.100.16 --format checklist
  ask bench timeline.ndjson timeline --from 2024-06-01T10:00:00Z --to 2024-06-01T11:00:00Z \
    --format ndjson

  replay_case identity --config "$policy"
  ask identity state-at.ndjson state --at 2026-11-02T00:40:00Z --format ndjson
  for r in sg-3x2 svc-1; do
    ask identity "history-$r.ndjson" history --format ndjson --documents "$r"
  done
  ask identity incident-principal.md incident --principal arn:aws:iam::100000000003:user/dev
  ask identity incident-principal.ndjson incident --principal arn:aws:iam::100000000003:user/dev \
    --format ndjson
  ask identity timeline.table timeline --from 2026-11-02T00:00:00Z --to 2026-11-02T00:30:00Z

  replay_case incident --config "$policy"
  ask incident incident-key.md incident --access-key AKIAEXAMPLELEAKED001
  ask incident incident-key.ndjson incident --access-key AKIAEXAMPLELEAKED001 --format ndjson
  ask incident incident-key.checklist incident --access-key AKIAEXAMPLELEAKED001 --format checklist
  ask incident incident-session.md incident --session alice
  ask incident timeline.ndjson timeline --from 2026-11-01T00:00:00Z --to 2026-11-03T00:00:00Z \
    --format ndjson

  local c
  for c in "${corpus_cases[@]}"; do
    replay_case "$c" --config "$policy"
  done
  ask corpus-streams-panther_test_scenarios incident-root.md incident \
    --principal arn:aws:iam::493859302102:root
  ask corpus-streams-panther_test_scenarios incident-ip.ndjson incident \
    --source-ip 92.55.146.245 --format ndjson

  # Normalize (see the header): the work directory's path, the replay's wall-clock seconds.
  local f
  while IFS= read -r -d '' f; do
    sed -i -e "s#$work#<work>#g" -e 's/"seconds":[-0-9.e+]*/"seconds":0/' "$f"
  done < <(find "$out" -path "$out/state" -prune -o -type f -print0)
}

# manifest OUT: one line per output file: sha256, line count, name.
manifest_of() {
  (cd "$1" && find . -path ./state -prune -o -type f -print | sed 's#^\./##' | sort |
    while IFS= read -r f; do
      printf '%s %8d %s\n' "$(sha256sum <"$f" | cut -d' ' -f1)" "$(wc -l <"$f")" "$f"
    done)
}

case "$mode" in
  update)
    produce "$other" "$other_rules" "$work/out"
    {
      echo "# Outputs of driftwatch $release on the inputs of tests/scripts/golden_output.sh,"
      echo "# normalized as it says: sha256, line count, file. Written by"
      echo "# tests/scripts/golden_output.sh --update <driftwatch built from $release>."
      manifest_of "$work/out"
    } >"$manifest"
    echo "golden_output: wrote $manifest ($(grep -vc '^#' "$manifest") outputs)"
    ;;
  check)
    produce "$bin" "" "$work/out"
    if ! diff <(grep -v '^#' "$manifest") <(manifest_of "$work/out") >"$work/manifest.diff"; then
      cat "$work/manifest.diff" >&2
      fail "outputs differ from the release's (< release, > $bin); see them with
  tests/scripts/golden_output.sh --baseline <driftwatch built from $release> [--keep DIR]"
    fi
    echo "golden_output: ok ($(grep -vc '^#' "$manifest") outputs equal to the release's)"
    ;;
  baseline)
    produce "$other" "$other_rules" "$work/baseline"
    produce "$bin" "" "$work/current"
    rm -rf "$work/baseline/state" "$work/current/state"
    status=0
    if ! diff <(grep -v '^#' "$manifest") <(manifest_of "$work/baseline") >/dev/null; then
      echo "golden_output: note: $other's outputs are not the goldens" >&2
    fi
    if ! diff -r -u "$work/baseline" "$work/current" >"$work/outputs.diff"; then
      status=1
      echo "golden_output: $(grep -c '^diff ' "$work/outputs.diff") file(s) differ" \
        "(--- $other, +++ $bin); the first 200 lines:" >&2
      head -n 200 "$work/outputs.diff" >&2
      [ -n "$keep" ] && echo "whole diff: $work/outputs.diff" >&2
    else
      echo "golden_output: $bin writes the same outputs as $other"
    fi
    exit "$status"
    ;;
esac
