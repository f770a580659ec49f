#!/usr/bin/env bash
# perf/pmd_plot.sh CSV PNG: perf/pmd_bench.sh's CSV as a PNG (gnuplot,
# package gnuplot-nox): M packets/s (median, with the least and most of the
# runs as error bars) and round-trip latency (median and p99), per frame
# size, one bar per variant (latency: the median, the bar up to the p99).
set -euo pipefail
csv=${1:?usage: pmd_plot.sh CSV PNG} png=${2:?usage: pmd_plot.sh CSV PNG}
command -v gnuplot >/dev/null || { echo "pmd_plot: no gnuplot (gnuplot-nox)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# One row per size, one column group per variant (gnuplot's histograms).
variants=$(awk -F, 'NR > 1 && $3 != "" { print $1 }' "$csv" | awk '!s[$0]++' | tr '\n' ' ')
sizes=$(awk -F, 'NR > 1 && $3 != "" { print $2 }' "$csv" | awk '!s[$0]++' | tr '\n' ' ')
for s in $sizes; do
	row="$s"
	for v in $variants; do
		row="$row $(awk -F, -v v="$v" -v s="$s" '$1 == v && $2 == s { printf "%s %s %s %s %s", $3, $4, $5, $6, $7 }' "$csv")"
	done
	echo "$row"
done > "$tmp/data"
n=0 rate="" lat=""
for v in $variants; do
	c=$((2 + 5 * n))
	rate="$rate${rate:+, }'$tmp/data' using $c:$((c + 1)):$((c + 2)):xtic(1) title '$v'"
	lat="$lat${lat:+, }'$tmp/data' using $((c + 3)):$((c + 3)):$((c + 4)):xtic(1) title '$v'"
	n=$((n + 1))
done
gnuplot <<GP
set terminal pngcairo size 1100,450 font ",10" noenhanced
set output '$png'
set multiplot layout 1,2 title "DPDK shared-memory PMDs: two dpdk-testpmd processes, one CPU each ($(basename "$csv"))"
set style data histograms
set style histogram errorbars gap 1 lw 1
set style fill solid 0.8 border -1
set key top right
set grid ytics
set xlabel "frame size (B)"
set ylabel "M packets/s (txonly -> rxonly)"
set yrange [0:*]
plot $rate
set ylabel "round trip (ns): median, bar to p99"
plot $lat
unset multiplot
GP
echo "pmd_plot: $png"
