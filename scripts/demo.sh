#!/usr/bin/env bash
# The main job on the embedded default journal: record a real workload, then ask what happened at
# several moments. Uses the native interceptor when it is built, strace + import otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
eyrie() { node bin/eyrie.js "$@"; }

work=$(mktemp -d /tmp/eyrie-demo.XXXXXX)
export EYRIE_JOURNAL=${EYRIE_JOURNAL:-$PWD/journal}
guest="demo-$(date +%Y%m%dT%H%M%S)"
workload='echo "draft 1" > report.txt; echo "more" >> report.txt; cp report.txt copy.txt; mv report.txt final.txt; printf PATCH | dd of=final.txt bs=1 seek=0 conv=notrunc status=none; rm copy.txt; mkdir out && tar cf out/a.tar final.txt'

echo "== recording in $work: $workload"
if eyrie record --help >/dev/null 2>&1; then
  (cd "$work" && node "$OLDPWD/bin/eyrie.js" record --guest "$guest" -- sh -c "$workload")
else
  log="$work.strace"
  (cd "$work" && strace -f -ttt -xx -y -s 1048576 -o "$log" -e trace="$(node --import tsx -e "import('./src/import/strace/command.ts').then(m => console.log(m.STRACE_CALLS.join(',')))" 2>/dev/null || true)" sh -c "$workload")
  eyrie import strace "$log" --guest "$guest" --cwd "$work"
fi

echo; echo "== guests";                         eyrie guests
echo; echo "== what the workload did to files";  eyrie log --guest "$guest" --path "$work/**" --kind file
first_write=$(eyrie log --guest "$guest" --path "$work/report.txt" --kind file.write --json | head -1 | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).seq))')
echo; echo "== report.txt just after its first write (#$first_write)"; eyrie at "#$first_write" cat "$work/report.txt" --guest "$guest"
echo; echo "== files at the end";               eyrie at end ls "$work" --guest "$guest"
echo; echo "== final.txt at the end";           eyrie at end cat "$work/final.txt" --guest "$guest"
echo; echo "== processes";                      eyrie at end ps --guest "$guest"
rm -rf "$work" "$work.strace"
