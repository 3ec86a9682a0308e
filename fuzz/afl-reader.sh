#!/usr/bin/env bash
# Coverage-guided fuzzing of the RESP readers (RequestScanner, RespFrameScanner) with Debian's afl++ and SharpFuzz:
# installs afl++ (apt) and the sharpfuzz tool (NuGet) when missing, publishes fuzz/RespFuzz, instruments
# RedisTimer.Resp.dll, seeds a corpus of valid frames, runs one afl-fuzz instance (nice 10, so one core at most) for
# the given duration, and prints the summary. Crashes and hangs are left in the findings directory (printed).
set -euo pipefail

usage() {
    cat <<'EOF2'
Usage: fuzz/afl-reader.sh [DURATION] [--out DIR] [--resume] [-h|--help]

  DURATION   how long afl-fuzz runs: seconds, or with a suffix: 90s, 15m, 1h (default 10m)
  --out DIR  where the build, corpus and findings go (default fuzz/out; not committed)
  --resume   go on from the findings of an earlier run in DIR instead of starting from the seed corpus

A crash's input: DIR/findings/default/crashes/id:*. Run it outside afl with
  dotnet DIR/bin/RespFuzz.dll DIR/findings/default/crashes/id:*
EOF2
}

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd -- "$SCRIPT_DIR/.." && pwd)
duration=10m
out="$SCRIPT_DIR/out"
resume=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --out) out=$2; shift 2 ;;
        --resume) resume=1; shift ;;
        -h|--help) usage; exit 0 ;;
        -*) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
        *) duration=$1; shift ;;
    esac
done
case "$duration" in
    *h) seconds=$(( ${duration%h} * 3600 )) ;;
    *m) seconds=$(( ${duration%m} * 60 )) ;;
    *s) seconds=${duration%s} ;;
    *) seconds=$duration ;;
esac

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v afl-fuzz >/dev/null; then
    echo "==> installing afl++ (Debian's package)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq afl++ >/dev/null
fi
tools="$out/tools"
if [[ ! -x "$tools/sharpfuzz" ]]; then
    echo "==> installing the sharpfuzz tool (SharpFuzz.CommandLine 2.3.0) into $tools"
    dotnet tool install --tool-path "$tools" SharpFuzz.CommandLine --version 2.3.0 >/dev/null
fi

echo "==> publishing fuzz/RespFuzz and instrumenting RedisTimer.Resp.dll"
rm -rf "$out/bin"
dotnet publish "$SCRIPT_DIR/RespFuzz" -c Release -o "$out/bin" -nologo -v quiet >/dev/null
"$tools/sharpfuzz" "$out/bin/RedisTimer.Resp.dll" >/dev/null

# The seed corpus: valid requests and replies. The first byte of an input picks the limits and the cuts (see
# fuzz/RespFuzz/ReaderChecks.cs), so each seed is there with a few of them.
corpus="$out/corpus"
rm -rf "$corpus"
mkdir -p "$corpus"
i=0
seed() {   # seed <printf format of the frames>
    local control
    for control in '\x00' '\x01' '\x22' '\x45' '\xe3'; do
        printf "$control$1" > "$corpus/seed-$i"
        i=$((i + 1))
    done
}
seed '*1\r\n$4\r\nPING\r\n'
seed '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n'
seed 'PING\r\nSET k "a b\\x41\\n" '"'"'it\\'"'"'s'"'"'\r\n\r\n'
seed '*0\r\n*-1\r\n*2\r\n$4\r\nECHO\r\n$0\r\n\r\n'
seed '+OK\r\n-ERR no\r\n:-42\r\n$5\r\nhello\r\n$-1\r\n*-1\r\n'
seed '*2\r\n*1\r\n:1\r\n%%1\r\n+k\r\n~2\r\n#t\r\n_\r\n'
seed '|1\r\n+key\r\n,0.5\r\n>3\r\n$7\r\nmessage\r\n(12345678901234567890\r\n=8\r\ntxt:abcd\r\n'
seed '!9\r\nERR oops!\r\n*1\r\n*1\r\n*1\r\n*1\r\n:0\r\n'

# Tokens of the protocol, for afl's mutations.
dict="$out/resp.dict"
cat > "$dict" <<'EOF2'
crlf="\x0d\x0a"
array="*1\x0d\x0a"
bulk="$1\x0d\x0a"
nullbulk="$-1\x0d\x0a"
maxint="2147483647"
maxlong="9223372036854775807"
over="536870913"
map="%1\x0d\x0a"
set="~1\x0d\x0a"
push=">1\x0d\x0a"
attr="|1\x0d\x0a"
bool="#t\x0d\x0a"
null="_\x0d\x0a"
dq="\""
sq="'"
hex="\\x41"
EOF2

findings="$out/findings"
input="$corpus"
if (( resume )) && [[ -d "$findings/default" ]]; then input=-; else rm -rf "$findings"; fi

echo "==> afl-fuzz for ${seconds} s (one instance, nice 10)"
# dotnet itself is not instrumented (SharpFuzz reports the coverage), so afl's binary check is skipped; a container
# may not let us change core_pattern or the CPU governor.
export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1
set +e
nice -n 10 afl-fuzz -i "$input" -o "$findings" -x "$dict" -t 5000 -m none -V "$seconds" -- dotnet "$out/bin/RespFuzz.dll" \
    > "$out/afl.log" 2>&1
status=$?
set -e
stats="$findings/default/fuzzer_stats"
if [[ ! -f "$stats" ]]; then
    echo "afl-fuzz exited with $status before writing its statistics; the end of its log:" >&2
    tail -30 "$out/afl.log" >&2
    exit 1
fi

stat() { sed -n "s/^$1 *: *//p" "$stats"; }
crashes=$(stat saved_crashes)
hangs=$(stat saved_hangs)
echo "==> afl$(stat afl_version) on the RESP readers"
echo "run time:      $(stat run_time) s"
echo "execs:         $(stat execs_done) ($(stat execs_per_sec) per s)"
echo "corpus:        $(stat corpus_count) inputs ($(stat corpus_found) found by afl), edges covered $(stat bitmap_cvg)"
echo "cycles:        $(stat cycles_done) done"
echo "crashes:       $crashes"
echo "hangs:         $hangs"
echo "findings:      $findings/default"
if [[ "${crashes:-0}" != 0 || "${hangs:-0}" != 0 ]]; then
    ls "$findings/default/crashes" "$findings/default/hangs" 2>/dev/null | grep -v README || true
    exit 1
fi
