#!/usr/bin/env bash
# perf/mpi_plot.sh TABLE PNG: perf/mpi_bench.sh's markdown table as a PNG
# (gnuplot, package gnuplot-nox): one panel per test (latency, bw, bibw,
# allreduce) that the table has, one line per transport, log-log axes.
set -euo pipefail
md=${1:?usage: mpi_plot.sh TABLE PNG} png=${2:?usage: mpi_plot.sh TABLE PNG}
command -v gnuplot >/dev/null || { echo "mpi_plot: no gnuplot (gnuplot-nox)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The header row names the transports: "| test | size | vader | ivc | ... / vader | unit |".
names=$(awk -F'|' '/^\| test \| size/ { for (i = 4; i < NF - 1; i++) { n = $i; gsub(/ /, "", n);
	if (n !~ /\//) print n } exit }' "$md" | tr '\n' ' ')
tests=$(awk -F'|' '$2 ~ /^ (latency|bw|bibw|allreduce) $/ { t = $2; gsub(/ /, "", t); if (!s[t]++) print t }' "$md")
[ -n "$tests" ] || { echo "mpi_plot: no rows in $md" >&2; exit 2; }
plots="" n=0
for t in $tests; do
	awk -F'|' -v t=" $t " '$2 == t { printf "%s", $3; for (i = 4; i < 4 + k; i++) printf " %s", $i; print "" }' \
		k="$(echo $names | wc -w)" "$md" > "$tmp/$t"
	unit=MB/s
	case $t in latency | allreduce) unit="µs" ;; esac
	lines="" c=2
	for x in $names; do
		lines="$lines${lines:+, }'$tmp/$t' using 1:$c with linespoints title '$x'"
		c=$((c + 1))
	done
	plots="$plots
set title '$t'
set ylabel '$unit'
plot $lines"
	n=$((n + 1))
done
gnuplot <<GP
set terminal pngcairo size $((420 * n)),380 font ",10" noenhanced
set output '$png'
set multiplot layout 1,$n
set logscale xy
set xlabel 'message size (bytes)'
set format x '%.0s%cB'
set key top left
set grid
$plots
unset multiplot
GP
