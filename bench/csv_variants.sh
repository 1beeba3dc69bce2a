#!/bin/sh
# csv_variants.sh SRC.csv OUTDIR: writes bench inputs for bench_csv made from a plain bar CSV
# (ts,open,high,low,close,volume, as in ../shared/data), never kept in the repository:
#   NAME-kline.csv    kline rows as the first rounds made them (bench/RESULTS.md): close time =
#                     open + 3,599,999 and fixed extras 12345678.12345678,1234,250.12345,
#                     1800000.5678,0, numbers as in SRC;
#   NAME-csv8.csv     plain CSV with every price and volume written with eight decimals, as in
#                     Binance's kline archives (7195.24 -> 7195.24000000);
#   NAME-kline8.csv   kline rows with eight-decimal prices and volumes and the fixed extras also
#                     at eight decimals (12345678.12345678,1234,250.12345000,1800000.56780000,0);
#   NAME-kline8v.csv  as kline8, the extras varying row by row as an archive's do (quote volume =
#                     volume x close, trades, taker volumes = shares of them, all from the row).
# Usage: bench/csv_variants.sh ../shared/data/BTCUSDT-1h.csv /tmp/csvbench
set -eu
src=$1
out=$2
mkdir -p "$out"
name=$(basename "$src" .csv)
awk -F, -v k="$out/$name-kline.csv" -v c8="$out/$name-csv8.csv" -v k8="$out/$name-kline8.csv" \
    -v k8v="$out/$name-kline8v.csv" '
function d8(x,    n, w, f) {
    n = split(x, w, ".")
    f = n > 1 ? w[2] : ""
    while (length(f) < 8) f = f "0"
    return w[1] "." f
}
NR == 1 { print "ts,open,high,low,close,volume" > c8; next }
NF == 6 {
    close_time = sprintf("%.0f", $1 + 3599999)
    print $0 "," close_time ",12345678.12345678,1234,250.12345,1800000.5678,0" > k
    row8 = $1 "," d8($2) "," d8($3) "," d8($4) "," d8($5) "," d8($6)
    print row8 > c8
    print row8 "," close_time ",12345678.12345678,1234,250.12345000,1800000.56780000,0" > k8
    quote = $6 * $5
    trades = int($6 * 7 + ($1 / 3600000) % 97) + 1
    printf "%s,%s,%.8f,%d,%.8f,%.8f,0\n", row8, close_time, quote, trades, $6 * 0.4817,
           quote * 0.4817 > k8v
}' "$src"
