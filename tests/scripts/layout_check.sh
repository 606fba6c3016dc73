#!/usr/bin/env bash
# The layout's boundaries (doc/layout.txt): every #include in a folder names a header of the
# folder itself or of a folder it declares, a header includes only what the folder exposes
# (dependencies marked *; a *_internal.h header is its folder's own), a third-party header is included only in the folders its row names,
# every source folder has a row, and the declared graph has no cycle.
# Then the check checks itself: copies of the tree with one wrong include each must fail.
# Usage: layout_check.sh [SOURCE_DIR]   (default: DW_SOURCE_DIR, else this script's ../..)
set -euo pipefail
src="${1:-${DW_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}}"

# check_tree ROOT: prints one line per violation; exit status 1 when there is any.
check_tree() {
  local root="$1"
  local files
  files="$(cd "$root" && awk '$1 == "folder" { print $2 }' doc/layout.txt |
    while read -r folder; do
      [ -d "$folder" ] && find "$folder" -maxdepth 1 -type f \( -name '*.h' -o -name '*.cc' \)
    done | sort)"
  (
    cd "$root"
    # Folders holding C++ sources that the table does not name.
    find . -mindepth 2 -maxdepth 2 -type f \( -name '*.h' -o -name '*.cc' \) \
      -not -path './tests/*' -not -path './build*' -printf '%h\n' | sed 's|^\./||' | sort -u |
      while read -r dir; do
        if ! awk -v d="$dir" '$1 == "folder" && $2 == d { found = 1 } END { exit !found }' \
          doc/layout.txt; then
          echo "$dir/: a folder of sources with no row in doc/layout.txt"
        fi
      done
    # shellcheck disable=SC2086
    awk '
      FNR == 1 { file_index++ }
      file_index == 1 {  # doc/layout.txt
        if ($1 == "folder") {
          folders[$2] = 1
          order[++nfolders] = $2
          for (i = 3; i <= NF; i++) {
            dep = $i; star = sub(/\*$/, "", dep)
            allowed[$2, dep] = 1
            if (star) exposed[$2, dep] = 1
            deps[$2] = deps[$2] " " dep
          }
        } else if ($1 == "lib") {
          nlibs++
          lib_name[nlibs] = $2
          lib_prefixes[nlibs] = $3
          for (i = 5; i <= NF; i++) {
            user = $i; star = sub(/\*$/, "", user)
            lib_allowed[nlibs, user] = 1
            if (star) lib_exposed[nlibs, user] = 1
          }
        }
        next
      }
      FNR == 1 {
        path = FILENAME
        folder = path; sub(/\/.*/, "", folder)
        # A header other folders may include; *_internal.h stays within its folder.
        is_header = (path ~ /\.h$/ && path !~ /_internal\.h$/)
      }
      /^[ \t]*#[ \t]*include[ \t]*"/ {
        inc = $0; sub(/^[^"]*"/, "", inc); sub(/".*/, "", inc)
        if (inc !~ /\//) {
          bad(path, FNR, "\"" inc "\": include headers from the source root, as \"folder/x.h\"")
          next
        }
        target = inc; sub(/\/.*/, "", target)
        if (target == folder) next
        if (inc ~ /_internal\.h$/) {
          bad(path, FNR, "\"" inc "\": internal to " target "/")
          next
        }
        if (!(target in folders)) {
          bad(path, FNR, "\"" inc "\": " target "/ is not a folder of doc/layout.txt")
        } else if (!((folder, target) in allowed)) {
          bad(path, FNR, "\"" inc "\": " folder "/ does not depend on " target "/ (doc/layout.txt)")
        } else if (is_header && !((folder, target) in exposed)) {
          bad(path, FNR, "\"" inc "\": a header of " folder "/ includes " target "/, which " \
              "doc/layout.txt does not mark * (PUBLIC) for " folder "/")
        }
        next
      }
      /^[ \t]*#[ \t]*include[ \t]*</ {
        inc = $0; sub(/^[^<]*</, "", inc); sub(/>.*/, "", inc)
        for (l = 1; l <= nlibs; l++) {
          n = split(lib_prefixes[l], prefixes, ",")
          for (p = 1; p <= n; p++) {
            if (prefixes[p] != "-" && index(inc, prefixes[p]) == 1) {
              if (!((l, folder) in lib_allowed)) {
                bad(path, FNR, "<" inc ">: " lib_name[l] " is not used in " folder \
                    "/ (doc/layout.txt)")
              } else if (is_header && !((l, folder) in lib_exposed)) {
                bad(path, FNR, "<" inc ">: a header of " folder "/ includes " lib_name[l] \
                    ", which doc/layout.txt does not mark * (PUBLIC) for " folder "/")
              }
            }
          }
        }
      }
      function bad(file, line, what) {
        print file ":" line ": " what
        failed = 1
      }
      # Depth-first search of the declared graph: 1 = on the current path, 2 = done.
      function visit(f,    n, list, i) {
        if (mark[f] == 1) { print "doc/layout.txt: a cycle through " f "/"; failed = 1; return }
        if (mark[f] == 2) return
        mark[f] = 1
        n = split(deps[f], list, " ")
        for (i = 1; i <= n; i++) {
          if (!(list[i] in folders)) {
            print "doc/layout.txt: " f "/ depends on " list[i] "/, which has no row"
            failed = 1
          } else {
            visit(list[i])
          }
        }
        mark[f] = 2
      }
      END {
        for (i = 1; i <= nfolders; i++) visit(order[i])
        exit failed
      }
    ' doc/layout.txt $files
  )
}

status=0
echo "== $src"
if ! check_tree "$src"; then
  echo "FAIL: the includes above break doc/layout.txt"
  status=1
fi

# The check itself: each wrong include below, put into a copy of the tree, must be reported.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
expect_failure() {
  local what="$1" file="$2" line="$3"
  rm -rf "$scratch/tree"
  mkdir -p "$scratch/tree"
  (cd "$src" && tar cf - doc/layout.txt $(awk '$1 == "folder" { print $2 }' doc/layout.txt)) |
    (cd "$scratch/tree" && tar xf -)
  printf '%s\n' "$line" >> "$scratch/tree/$file"
  if check_tree "$scratch/tree" > "$scratch/out" || ! grep -q "^$file:" "$scratch/out"; then
    echo "FAIL: the check missed $what ($line in $file)"
    status=1
  else
    echo "ok: the check reports $what: $(grep "^$file:" "$scratch/out" | head -1)"
  fi
}
expect_failure "an include against the graph" vocab/status.h '#include "engine/pipeline.h"'
expect_failure "a folder skipping a layer" ingest/decoder.cc '#include "state/state_store.h"'
expect_failure "a header exposing a private dependency" incident/incident.h \
  '#include <nlohmann/json.hpp>'
expect_failure "a third-party header outside its folder" engine/pipeline.cc '#include <rocksdb/db.h>'
expect_failure "librdkafka outside kafka/" ingest/file_source.cc '#include <librdkafka/rdkafka.h>'
expect_failure "an undeclared folder" state/state_store.h '#include "tests/engine/sample_records.h"'
expect_failure "a cycle in the table" doc/layout.txt 'folder vocab engine'
expect_failure "another folder's internal header" rules/rule_eval.cc \
  '#include "appliers/applier_internal.h"'

exit "$status"
