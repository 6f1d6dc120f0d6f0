#!/usr/bin/env bash
# The main job on the embedded default journal (./journal, or $EYRIE_JOURNAL): record a real workload
# with the native interceptor, then ask what happened at several moments.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
journal=${EYRIE_JOURNAL:-$top/journal}
eyrie() { node "$top/bin/eyrie.js" --journal "$journal" "$@"; }

work=$(mktemp -d /tmp/eyrie-demo.XXXXXX)
guest="demo-$(date +%Y%m%dT%H%M%S)"
workload='echo "draft 1" > report.txt; echo "more" >> report.txt; cp report.txt copy.txt
mv report.txt final.txt; printf PATCH | dd of=final.txt bs=1 seek=0 conv=notrunc status=none
rm copy.txt; mkdir out; tar cf out/a.tar final.txt; exec 3>>final.txt; rm final.txt; echo "after unlink" >&3; sleep 0.2'

echo "== eyrie record -- sh -c '...'   (in $work)"
(cd "$work" && eyrie record --guest "$guest" -- sh -c "$workload")

# the seq of the first event of a kind on a path (read to the end: `head` would cut the pipe)
seq_of() {
  eyrie log --guest "$guest" --path "$work/$1" --kind "$2" --json | node -e '
    let s = ""
    process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const first = s.split("\n").find((l) => l !== "")
      if (first === undefined) { console.error(`demo: no ${process.argv[1]} event on ${process.argv[2]}`); process.exit(1) }
      console.log(JSON.parse(first).seq)
    })' "$2" "$1"
}
# the recorder reads written files back at the calls that can observe them: file.sync carries the bytes
first=$(seq_of report.txt file.sync)
renamed=$(seq_of final.txt file.rename)

echo; echo "== eyrie guests";                              eyrie guests
echo; echo "== eyrie log --path '$work/**' --kind file";   eyrie log --guest "$guest" --path "$work/**" --kind file
echo; echo "== eyrie at '#$first' cat report.txt   (just after its first write)"
eyrie at "#$first" cat "$work/report.txt" --guest "$guest"
echo; echo "== eyrie at '#$renamed' ls   (just after the rename)"
eyrie at "#$renamed" ls "$work" --guest "$guest"
echo; echo "== eyrie at end ls";                           eyrie at end ls "$work" --guest "$guest"
echo; echo "== eyrie at end cat out/a.tar | tar tv";       eyrie at end cat "$work/out/a.tar" --guest "$guest" | tar tv
echo; echo "== eyrie at end ps";                           eyrie at end ps --guest "$guest"
rm -rf "$work"
echo; echo "The journal is in $journal; try: node bin/eyrie.js --journal $journal at +50ms fds --guest $guest"
