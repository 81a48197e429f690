#!/usr/bin/env bash
# End-to-end tests of the mosync CLI: exit codes (0/1/2/3), one line per problem with the
# file, code, offset and field, --json output, dump -> mkobj --from-csv -> dump round
# trips, framed files, hostile paths. Prints "N passed, N failed" and exits non-zero on
# any failure.
set -u
MOSYNC=${1:?usage: test_cli.sh path/to/mosync}
T=${MO_TMP:-/tmp}/cli.$$
rm -rf "$T"; mkdir -p "$T"
trap 'rm -rf "$T"' EXIT
pass=0; fail=0
ok()   { pass=$((pass+1)); }
bad()  { fail=$((fail+1)); echo "FAIL: $*" >&2; }
expect_rc() { # want, description, command...
    local want=$1 what=$2; shift 2
    "$@" >"$T/out" 2>"$T/err"; local rc=$?
    if [ "$rc" -eq "$want" ]; then ok; else bad "$what: exit $rc, want $want"; sed 's/^/    /' "$T/out" "$T/err" | head -20 >&2; fi
}
expect_grep() { # pattern, file, description
    if grep -qE -- "$1" "$2"; then ok; else bad "$3: no /$1/ in $2"; head -20 "$2" | sed 's/^/    /' >&2; fi
}

SCHEMA='id:int64,name:varchar(40),amount:decimal64(12,2),at:timestamp(6),ok:bool,d:date,t:time(3),u:uuid,b:blob,f:float64,v:vecf32(3)'
mkdir -p "$T/objs"
expect_rc 0 "mkobj data" "$MOSYNC" mkobj --schema "$SCHEMA" --rows 20000 --seed 7 --pk id --sorted --out "$T/objs"
DATA=$(head -1 "$T/out")
expect_grep 'rows=20000 blocks=3 .*sorted cn-created' "$T/out" "mkobj prints ObjectStats"
expect_rc 0 "mkobj appendable" "$MOSYNC" mkobj --schema 'id:int64,v:varchar(30)' --rows 9000 --pk id --sorted --appendable --out "$T/objs"
expect_grep 'appendable' "$T/out" "appendable flag"
expect_rc 0 "mkobj tombstone" "$MOSYNC" mkobj --schema 'pk:int64' --rows 9000 --tombstone --out "$T/objs"
expect_rc 0 "mkobj framed" "$MOSYNC" mkobj --schema 'id:int64,s:text' --rows 5000 --pk id --framed --out "$T/objs"
FRAMED=$(head -1 "$T/out")
expect_rc 0 "verify all deep" "$MOSYNC" verify "$T/objs"
expect_grep '^verified 4 objects \(deep\).* 4 ok, 0 corrupt' "$T/out" "verify summary"
expect_rc 0 "verify -j 2 struct" "$MOSYNC" verify -j 2 --level struct "$T/objs"
expect_rc 0 "verify frame" "$MOSYNC" verify --level frame "$T/objs"
expect_rc 0 "verify --json" "$MOSYNC" verify --json "$FRAMED"
expect_grep '"status":"ok","framed":true' "$T/out" "json framed status"

# usage and environment errors: exit 2
expect_rc 2 "verify without paths" "$MOSYNC" verify
expect_rc 2 "verify bad level" "$MOSYNC" verify --level bogus "$T/objs"
expect_rc 2 "verify missing file" "$MOSYNC" verify "$T/does-not-exist"
expect_rc 2 "unknown command" "$MOSYNC" frobnicate
expect_rc 2 "mkobj bad type" "$MOSYNC" mkobj --schema 'a:int99' --rows 1 --out "$T/objs"
expect_grep "unknown column type 'int99'" "$T/err" "bad type message"
expect_rc 2 "mkobj pk not in schema" "$MOSYNC" mkobj --schema 'a:int64' --rows 1 --pk zz --out "$T/objs"

# corruption: exit 1 with one line naming file, code, offset and field
mkdir -p "$T/bad"
cp "$DATA" "$T/bad/"
B="$T/bad/$(basename "$DATA")"
printf '\xff' | dd of="$B" bs=1 seek=64 conv=notrunc status=none # LZ4 token of chunk 0
expect_rc 1 "verify flipped chunk" "$MOSYNC" verify "$B"
expect_grep "^$B: MO_ECORRUPT: offset [0-9]+ slot 0 block 0 seqnum 0 \[" "$T/out" "problem line format"
expect_rc 0 "struct level ignores chunk bytes" "$MOSYNC" verify --level struct "$B"
cp "$DATA" "$B"; truncate -s -1 "$B"
expect_rc 1 "verify torn file" "$MOSYNC" verify "$B"
expect_grep 'header.metaExtent' "$T/out" "torn file field"
cp "$DATA" "$B"; printf '\x02' | dd of="$B" bs=1 seek=8 conv=notrunc status=none
expect_rc 3 "verify unsupported version" "$MOSYNC" verify "$B"
expect_grep 'MO_EVERSION' "$T/out" "version code"
expect_rc 3 "verify --json version" "$MOSYNC" verify --json "$B" "$DATA"
expect_grep '"code":"MO_EVERSION"' "$T/out" "json problem"
# framed: a flipped byte inside a 2048-byte block
F2="$T/bad/framed"; cp "$FRAMED" "$F2"
printf '\x77' | dd of="$F2" bs=1 seek=5000 conv=notrunc status=none
expect_rc 1 "verify framed CRC" "$MOSYNC" verify --level frame "$F2"
expect_grep 'MO_ECHECKSUM.*frame.crc32c.*block 2 ' "$T/out" "crc problem names the block"
# hostile names in a directory: dot files skipped and counted, odd names just verified
mkdir -p "$T/mixed"; cp "$DATA" "$T/mixed/"; echo junk > "$T/mixed/.tmp.123"
echo junk > "$T/mixed/../../../x-not-object" 2>/dev/null || true
echo notanobject > "$T/mixed/$(printf 'n%.0s' $(seq 1 200))"
expect_rc 1 "verify mixed dir" "$MOSYNC" verify "$T/mixed"
expect_grep '1 non-object entries skipped' "$T/out" "dot files skipped"
expect_grep 'MO_ETRUNCATED' "$T/out" "non-object file reported"

# inspect and dump
expect_rc 0 "inspect" "$MOSYNC" inspect "$DATA"
expect_grep '^ObjectStats: .* rows=20000 blocks=3' "$T/out" "inspect stats"
expect_grep 'seqnum 0 +int64 +idx 0' "$T/out" "inspect column"
expect_rc 0 "inspect --json" "$MOSYNC" inspect --json "$DATA"
expect_grep '"object_stats":\{"name":"' "$T/out" "inspect json"
expect_rc 0 "dump" "$MOSYNC" dump --format csv "$DATA"
cp "$T/out" "$T/dump1.csv"
expect_grep '^c0,c1,c2,c3,c4,c5,c6,c7,c8,c9,c10$' "$T/dump1.csv" "csv header"
[ "$(wc -l < "$T/dump1.csv")" -eq 20001 ] && ok || bad "dump row count"
expect_grep '\\N' "$T/dump1.csv" "NULL as \\N"
# round trip: dump -> mkobj --from-csv -> dump is identical
mkdir -p "$T/rt"
expect_rc 0 "mkobj from csv" "$MOSYNC" mkobj --schema "$SCHEMA" --from-csv "$T/dump1.csv" --pk id --sorted --out "$T/rt"
RT=$(head -1 "$T/out")
expect_rc 0 "dump round trip" "$MOSYNC" dump "$RT"
cmp -s "$T/out" "$T/dump1.csv" && ok || bad "dump -> mkobj -> dump differs"
expect_rc 0 "verify csv object" "$MOSYNC" verify "$RT"
# CSV with quotes, commas, newlines and a literal \N string
printf 'c0,c1\n1,"a,b"\n2,"say ""hi"""\n3,"two\nlines"\n4,"\\N"\n5,\\N\n' > "$T/q.csv"
expect_rc 0 "mkobj quoted csv" "$MOSYNC" mkobj --schema 'id:int64,s:varchar(20)' --from-csv "$T/q.csv" --out "$T/rt"
Q=$(head -1 "$T/out")
expect_rc 0 "dump quoted" "$MOSYNC" dump "$Q"
cmp -s "$T/out" "$T/q.csv" && ok || { bad "quoted csv round trip"; diff "$T/out" "$T/q.csv" >&2; }
printf 'c0,c1\n1,x\n2\n' > "$T/short.csv"
expect_rc 2 "csv short line" "$MOSYNC" mkobj --schema 'id:int64,s:varchar(20)' --from-csv "$T/short.csv" --out "$T/rt"
expect_grep 'line 3' "$T/err" "csv error names the line"
printf 'c0\nnotanumber\n' > "$T/nan.csv"
expect_rc 2 "csv bad value" "$MOSYNC" mkobj --schema 'id:int64' --from-csv "$T/nan.csv" --out "$T/rt"


# seed / resume / export / import / verify BUNDLE (issue #3)
mkdir -p "$T/seedsrc"; cp "$T"/objs/* "$T/seedsrc/"; echo notes > "$T/seedsrc/README"
expect_rc 0 "seed" "$MOSYNC" seed --from "$T/seedsrc" --to "$T/seeddst" --chunk-size 64K -j 2
expect_grep '4 objects \(4 copied, 0 already there' "$T/out" "seed summary"
expect_grep '1 non-object entries ignored' "$T/out" "seed counts ignored files"
for f in "$T"/objs/*; do
    # the framed source object arrives as logical bytes: compare rows, and raw bytes otherwise
    if cmp -s "$f" "$T/seeddst/$(basename "$f")"; then ok
    else "$MOSYNC" dump "$f" > "$T/a.csv"; "$MOSYNC" dump "$T/seeddst/$(basename "$f")" > "$T/b.csv"
         cmp -s "$T/a.csv" "$T/b.csv" && ok || bad "seeded $(basename "$f") differs"; fi
done
[ -z "$(find "$T/seeddst" -name '*.part')" ] && ok || bad "part files left after seed"
expect_rc 0 "seed again skips" "$MOSYNC" seed --from "$T/seedsrc" --to "$T/seeddst" --chunk-size 64K
expect_grep '0 copied, 4 already there' "$T/out" "second seed copies nothing"
expect_rc 0 "journal" "$MOSYNC" journal "$T/seeddst"
expect_grep '^complete yes' "$T/out" "journal complete"
expect_rc 0 "resume of a complete job" "$MOSYNC" resume --to "$T/seeddst"
expect_rc 2 "seed without --to" "$MOSYNC" seed --from "$T/seedsrc"
expect_rc 2 "seed missing source" "$MOSYNC" seed --from "$T/nope" --to "$T/x"
expect_rc 2 "resume without journal" "$MOSYNC" resume --to "$T/empty-sink"
expect_rc 2 "bad chunk size" "$MOSYNC" seed --from "$T/seedsrc" --to "$T/x" --chunk-size 12
# progress events and the JSON summary
expect_rc 0 "seed --progress=json" "$MOSYNC" seed --from "$T/seedsrc" --to "$T/seedjson" --progress=json
expect_grep '"event":"done"' "$T/err" "json progress done event"
expect_grep '"event":"summary","status":"ok","objects":4,"copied":4' "$T/err" "json summary"
# bandwidth limit: 4 objects at 8 MB/s take at least ~(size/8MB) seconds
sz=$(du -cb "$T"/seedsrc/0* | tail -1 | cut -f1)
start=$(date +%s%N)
expect_rc 0 "seed --bwlimit" "$MOSYNC" seed --from "$T/seedsrc" --to "$T/seedbw" --bwlimit 8M --verify-level none
el=$(( ($(date +%s%N) - start) / 1000000 ))
want=$(( sz * 1000 / (8 * 1048576) * 8 / 10 ))
[ "$el" -ge "$want" ] && ok || bad "bwlimit: took ${el}ms for $sz bytes, want >= ${want}ms"
# framed sink
expect_rc 0 "seed --framed" "$MOSYNC" seed --from "$T/seedsrc" --to "$T/seedframed" --framed
expect_rc 0 "verify framed sink" "$MOSYNC" verify --json "$T/seedframed"
expect_grep '"framed":true' "$T/out" "framed sink writes DISK framing"
# bundles
expect_rc 0 "export" "$MOSYNC" export --from "$T/seedsrc" --to "$T/b.tar"
expect_grep 'exported 4 objects \(4 with ObjectStats\)' "$T/out" "export summary"
expect_rc 0 "verify bundle" "$MOSYNC" verify "$T/b.tar"
expect_rc 0 "import" "$MOSYNC" import "$T/b.tar" --to "$T/imported"
for f in "$T"/seeddst/0*; do cmp -s "$f" "$T/imported/$(basename "$f")" && ok || bad "imported $(basename "$f") differs"; done
cp "$T/b.tar" "$T/bad.tar"
printf '\x5a' | dd of="$T/bad.tar" bs=1 seek=$(( $(stat -c %s "$T/b.tar") / 2 )) conv=notrunc status=none
expect_rc 1 "verify damaged bundle" "$MOSYNC" verify "$T/bad.tar"
expect_grep 'MO_ECHECKSUM|MO_ECORRUPT' "$T/out" "damaged bundle problem"
expect_rc 1 "import damaged bundle" "$MOSYNC" import "$T/bad.tar" --to "$T/imported-bad"

# demo (the README's main job) on a small size
expect_rc 0 "demo --objects" "$MOSYNC" demo --objects --out "$T/demo" --rows 20000
expect_grep 'ALL OK' "$T/out" "object demo summary"
# the main job: generated upstream, served, synced, checksums compared every round
expect_rc 0 "demo" "$MOSYNC" demo --out "$T/demo2" --rounds 3 --rows 3000
expect_grep '3 rounds, 21 table comparisons, 0 mismatches: ALL EQUAL' "$T/out" "sync demo summary"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
