#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# perf/tcp_ratio_ab.sh - two builds of ivc-bench side by side on tcp
# streams, each run measuring ivc over tcp and raw TCP together, so that
# what is compared is ivc's rate over raw TCP's in the same run (this
# machine's state moves raw TCP's own rate by half from one run to the
# next).  Builds alternate run by run; medians of REPEAT.
#
# usage: perf/tcp_ratio_ab.sh BEFORE/ivc-bench AFTER/ivc-bench [ivc-bench args]
#
# Environment: SIZES ["64,256,1k"], MODES ["poll,block"], BURST [32],
# REPEAT [7], TIME [0.3] seconds a point, CPUS ["0,1"], VIA
# ["tcp-lazy-queued"].  Extra arguments go to every run (e.g. --slots 1024
# --buf-count 512).  Prints, per mode and size, the median ratio (and its
# range) before and after, and ivc's own median rate after/before.
# Asserts nothing.
set -uo pipefail

if [ $# -lt 2 ] || [ ! -x "$1" ] || [ ! -x "$2" ]; then
	sed -n '3,18p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
fi
BEFORE=$1
AFTER=$2
shift 2
SIZES=${SIZES:-64,256,1k}
MODES=${MODES:-poll,block}
BURST=${BURST:-32}
REPEAT=${REPEAT:-7}
TIME=${TIME:-0.3}
CPUS=${CPUS:-0,1}
VIA=${VIA:-tcp-lazy-queued}
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# One run of BIN: "TAG MODE SIZE TRANSPORT GB/s" lines.
run() {
	"$2" stream -x ivc,tcp --via "$VIA" -m "$MODES" -s "$SIZES" -r 1 -t "$TIME" \
		-b "$BURST" --touch yes -c "$CPUS" "${@:3}" --csv --no-progress 2>/dev/null |
		awk -F, -v tag="$1" 'NR > 1 { print tag, $6, $8, $5, $19 }'
}

for ((i = 0; i < REPEAT; i++)); do
	run B "$BEFORE" "$@" | sed "s/^/$i /" >> "$out"
	run A "$AFTER" "$@" | sed "s/^/$i /" >> "$out"
done

echo "| mode | size | ivc/TCP before | ivc/TCP after | ivc after/before |"
echo "|---|---|---|---|---|"
awk '
	{ key = $3 " " $4; rate[$1, $2, key, $5] = $6; keys[key] = 1; tags[$1, $2] = 1 }
	function med(a, n,   i, j, t) {
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
		return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	END {
		for (key in keys) {
			split(key, k, " ")
			for (t = 0; t < 2; t++) {
				tag = t ? "A" : "B"; n = 0; m = 0
				for (r = 0; (r, tag) in tags; r++) {
					iv = rate[r, tag, key, "ivc"]; tc = rate[r, tag, key, "tcp"]
					if (iv > 0 && tc > 0) r_[++n] = iv / tc
					if (iv > 0) g_[++m] = iv
				}
				lo[tag] = 1e9; hi[tag] = 0
				for (i = 1; i <= n; i++) { if (r_[i] < lo[tag]) lo[tag] = r_[i]; if (r_[i] > hi[tag]) hi[tag] = r_[i] }
				ratio[tag] = n ? med(r_, n) : 0; own[tag] = m ? med(g_, m) : 0
				delete r_; delete g_
			}
			printf "| %s | %s | %.2f (%.2f-%.2f) | %.2f (%.2f-%.2f) | %.2f |\n", k[1], k[2],
				ratio["B"], lo["B"], hi["B"], ratio["A"], lo["A"], hi["A"],
				own["B"] ? own["A"] / own["B"] : 0
		}
	}' "$out" | sort -t'|' -k2,2 -k3,3n
