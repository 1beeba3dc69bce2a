#!/usr/bin/env bash
# 89_surveil_bad_input.sh: `noderr surveil` refuses bad input with exit 2 and FILE:LINE: why,
# printing nothing on stdout: bad header, column count, side, event, time, prices with more
# than 8 decimals, missing quantities, an order id that changes side, blank lines inside,
# bad accounts and holiday files, bad options.
source "$(dirname "$0")/lib.sh"
H="ts,account,owner,strategy,venue,symbol,side,event,order_id,price,qty"
OK="2024-01-02T15:00:00Z,A1,O1,s,V,AAPL,buy,new,o1,10,1"

# bad ROW TEXT...: a file with the header, a good row and ROW on line 3 exits 2 naming line 3.
bad() {
    local row="$1" text="$2"
    printf '%s\n%s\n%s\n' "$H" "$OK" "$row" >"$WORK/bad.csv"
    check "line 3 '$row' -> $text"
    expect_rc 2 "$NODERR" surveil --events "$WORK/bad.csv"
    grep -qF "$WORK/bad.csv:3: " "$ERR" || fail "stderr does not name bad.csv:3:"
    grep -qF -- "$text" "$ERR" || fail "stderr does not say '$text'"
    [ ! -s "$OUT" ] || fail "a failed run printed on stdout"
}

check "committed fixture: bad side on line 3"
expect_rc 2 "$NODERR" surveil --events "$DATA/surveil_bad_side.csv"
grep -qF "surveil_bad_side.csv:3: side 'hold': must be buy or sell" "$ERR" || fail "wrong message"

bad "2024-01-02T15:00:01Z,A1,O1,s,V,AAPL,buy,fill,o1,10" "10 columns, expected 11"
bad "2024-01-02T15:00:01Z,A1,O1,s,V,AAPL,buy,fill,o1,10,1,x" "more than 11 columns"
bad "2024-01-02T15:00:01Z,A1,O1,s,V,AAPL,buy,amend,o1,10,1" "event 'amend': must be new, cancel or fill"
bad "2024-13-02T15:00:01Z,A1,O1,s,V,AAPL,buy,fill,o1,10,1" "ts '2024-13-02T15:00:01Z'"
bad "yesterday,A1,O1,s,V,AAPL,buy,fill,o1,10,1" "neither Unix milliseconds nor ISO-8601"
bad "2024-01-02T15:00:01Z,A1,O1,s,V,AAPL,buy,fill,o1,10.000000001,1" "more than 8 decimal places"
bad "2024-01-02T15:00:01Z,A1,O1,s,V,AAPL,buy,fill,o1,,1" "price '': empty"
bad "2024-01-02T15:00:01Z,A1,O1,s,V,AAPL,buy,fill,o1,10,0" "qty '0': must be greater than 0"
bad "2024-01-02T15:00:01Z,A1,O1,s,V,AAPL,buy,fill,o1,-10,1" "price '-10': must be greater than 0"
bad "2024-01-02T15:00:01Z,A1,O1,s,V,AAPL,buy,fill,o1,1e3,1" "not a plain decimal number"
bad "2024-01-02T15:00:01Z,,O1,s,V,AAPL,buy,fill,o1,10,1" "account '': empty"
bad "2024-01-02T15:00:01Z,A1,O1,s,V,AAPL,sell,fill,o1,10,1" "different side on line 2"
bad "2024-01-02T15:00:01Z,A2,O1,s,V,AAPL,buy,fill,o1,10,1" "different account on line 2"
bad "2024-01-02T15:00:01Z,A1,\"O1\",s,V,AAPL,buy,fill,o1,10,1" "quoted fields are not supported"
# Regression: price x qty past int64 was clamped to INT64_MAX (and overflowed, UBSan, in the
# pattern-day-trading position); now an input error naming the line.
bad "2024-01-02T15:00:01Z,A1,O1,s,V,AAPL,buy,fill,o1,92233720368,92233720368" \
    "does not fit 64-bit cash units"
bad "999999999999999,A1,O1,s,V,AAPL,buy,fill,o1,10,1" "Unix milliseconds out of range"

check "two fills whose sum overflows a position or a day's total: exit 2 naming the line"
printf '%s\n%s\n%s\n' "$H" "2024-01-02T15:00:01Z,A1,O1,s,V,AAPL,buy,fill,o1,0.00000001,92233720368" \
    "2024-01-02T15:00:02Z,A1,O1,s,V,AAPL,buy,fill,o2,0.00000001,92233720368" >"$WORK/sum.csv"
# US: the pattern-day-trading position; EU with an ADV from the events: the day's quantity.
for OPTS in "--jurisdiction US" "--jurisdiction EU --adv-from-events"; do
    # shellcheck disable=SC2086 # OPTS is a list of options
    expect_rc 2 "$NODERR" surveil --events "$WORK/sum.csv" $OPTS
    grep -qF "$WORK/sum.csv: line 3 (event 1)" "$ERR" ||
        fail "the overflowing line is not named ($OPTS)"
    grep -qF "does not fit 64 bits" "$ERR" || fail "the overflow is not said ($OPTS)"
    [ ! -s "$OUT" ] || fail "a failed run printed on stdout"
done
printf '%s\n%s\n%s\n' "$H" "2024-01-02T15:00:01Z,A1,O1,s,V,AAPL,buy,fill,o1,92233720,600" \
    "2024-01-02T15:00:02Z,A1,O1,s,V,AAPL,buy,fill,o2,92233720,600" >"$WORK/day.csv"
expect_rc 2 "$NODERR" surveil --events "$WORK/day.csv" --jurisdiction EU
grep -qF "line 3 (event 1): the owner's filled notional in the UTC day does not fit" "$ERR" \
    || fail "the day's notional overflow is not named"

check "a cancel may leave price and quantity empty"
printf '%s\n%s\n%s\n' "$H" "$OK" "2024-01-02T15:00:01Z,A1,O1,s,V,AAPL,buy,cancel,o1,," >"$WORK/c.csv"
expect_rc 0 "$NODERR" surveil --events "$WORK/c.csv"

check "CRLF line endings are accepted, a blank line inside the data is not"
printf '%s\r\n%s\r\n' "$H" "$OK" >"$WORK/crlf.csv"
expect_rc 0 "$NODERR" surveil --events "$WORK/crlf.csv"
printf '%s\n%s\n\n%s\n' "$H" "$OK" "$OK" >"$WORK/blank.csv"
expect_rc 2 "$NODERR" surveil --events "$WORK/blank.csv"
grep -qF "$WORK/blank.csv:3: blank line inside the data" "$ERR" || fail "blank line not named"

check "wrong header, empty file, header only"
printf 'time,account\n%s\n' "$OK" >"$WORK/hdr.csv"
expect_rc 2 "$NODERR" surveil --events "$WORK/hdr.csv"
grep -qF "$WORK/hdr.csv:1: header must be $H" "$ERR" || fail "bad header not named"
: >"$WORK/empty.csv"
expect_rc 2 "$NODERR" surveil --events "$WORK/empty.csv"
grep -qF "$WORK/empty.csv:1: empty file" "$ERR" || fail "empty file not named"
printf '%s\n' "$H" >"$WORK/only.csv"
expect_rc 2 "$NODERR" surveil --events "$WORK/only.csv"
grep -qF "$WORK/only.csv:2: no events after the header" "$ERR" || fail "header-only not named"

check "bad accounts file rows"
printf 'account,type,equity\nA1,savings,100\n' >"$WORK/acc.csv"
expect_usage_error "$WORK/acc.csv:2: type 'savings'" "$NODERR" surveil --events "$DATA/surveil_wash.csv" --accounts "$WORK/acc.csv"
printf 'account,type,equity\nA1,margin,lots\n' >"$WORK/acc.csv"
expect_usage_error "$WORK/acc.csv:2: equity 'lots'" "$NODERR" surveil --events "$DATA/surveil_wash.csv" --accounts "$WORK/acc.csv"
printf 'account,type,equity\nA1,margin,1\nA1,cash,2\n' >"$WORK/acc.csv"
expect_usage_error "$WORK/acc.csv:3: account 'A1': listed twice" "$NODERR" surveil --events "$DATA/surveil_wash.csv" --accounts "$WORK/acc.csv"
printf 'account,type,equity,jurisdiction\nA1,margin,1,US|XX\n' >"$WORK/acc.csv"
expect_usage_error "unknown jurisdiction 'XX'" "$NODERR" surveil --events "$DATA/surveil_wash.csv" --accounts "$WORK/acc.csv"

check "bad holiday file, bad --adv, missing --events, missing file"
printf 'date\n2024-02-30\n' >"$WORK/hol.csv"
expect_usage_error "$WORK/hol.csv:2: date '2024-02-30': expected YYYY-MM-DD" "$NODERR" surveil --events "$DATA/surveil_wash.csv" --holidays "$WORK/hol.csv"
expect_usage_error "--adv 'IBM': expected SYMBOL=QTY" "$NODERR" surveil --events "$DATA/surveil_wash.csv" --adv IBM
expect_usage_error "--events FILE is required" "$NODERR" surveil --json
expect_usage_error "$WORK/nope.csv: cannot open" "$NODERR" surveil --events "$WORK/nope.csv"

check "--help prints the usage and exits 0"
expect_rc 0 "$NODERR" surveil --help
stdout_has "usage: noderr surveil --events FILE.csv"

echo "89_surveil_bad_input: all checks passed"
