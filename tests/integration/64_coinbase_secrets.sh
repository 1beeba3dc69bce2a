#!/usr/bin/env bash
# 64_coinbase_secrets.sh: Coinbase credentials come from NODERR_COINBASE_EXCHANGE_API_KEY /
# _API_SECRET / _API_PASSPHRASE (or NODERR_COINBASE_API_KEY / _API_SECRET, a PEM key) or from a
# 0600 secrets file, and never show up in any output: every stdout and stderr of the commands
# below, on success and on each refusal, is searched for every secret value. The signature is
# the documented known answer (../shared PROTOCOLS.md B.4), so the secret really was used.
# The WebSocket clients' logs are searched the same way by tests/unit/test_coinbase_ws.c.
source "$(dirname "$0")/lib.sh"

SECRET='QiM6irV9cW5NJo3xei+MLD0a4GLnsz+HSFwucGXdt+c8gZwRUxTltMfh09w8pZ2VHXKdM8LzqxhaMUg4WHSsvQ=='
KEY='0c9618dbe16af57d9316a6cc78f431cc'
PASS='3628c235c9b5'
WANT='7fF/Orhb4TQmCJ+nQ3f/q25/4ZU3kwDGCkOr/JyG4jA='
BAD='not-base64-but-SECRET-zz9'
PEM_BODY='MHcCAQEEIIhkLZ5vK3cJ0fY7r9VmSxvzv5kLrDm8tD3qD0J3qfQyoAoGCCqGSM49'
ALL="$WORK/all_output"
: >"$ALL"

# collect: appends the last command's output to the searched transcript.
collect() { cat "$OUT" "$ERR" >>"$ALL"; }
sign() { run env -u NODERR_COINBASE_EXCHANGE_SECRETS_FILE "$@" "$NODERR" sign \
    --venue coinbase-exchange --timestamp 1573653521.402 --method GET --path /accounts; collect; }

check "the secret from the environment signs the known answer"
sign NODERR_COINBASE_EXCHANGE_API_KEY="$KEY" NODERR_COINBASE_EXCHANGE_API_SECRET="$SECRET" \
    NODERR_COINBASE_EXCHANGE_API_PASSPHRASE="$PASS" NODERR_COINBASE_API_KEY="$KEY" \
    NODERR_COINBASE_API_SECRET="-----BEGIN EC PRIVATE KEY-----\\n$PEM_BODY\\n-----END EC PRIVATE KEY-----"
[ "$RC" -eq 0 ] || fail "sign with env secret exited $RC"
[ "$(cat "$OUT")" = "$WANT" ] || fail "signature $(cat "$OUT"), expected $WANT"

check "a 0600 secrets file signs the known answer"
printf 'api_key=%s\napi_secret=%s\npassphrase=%s\n' "$KEY" "$SECRET" "$PASS" >"$WORK/cb.secrets"
chmod 600 "$WORK/cb.secrets"
sign NODERR_COINBASE_EXCHANGE_SECRETS_FILE="$WORK/cb.secrets"
[ "$RC" -eq 0 ] && [ "$(cat "$OUT")" = "$WANT" ] || fail "sign with a 0600 file: rc $RC $(cat "$OUT")"

check "a group-readable secrets file is refused, naming the rule"
chmod 640 "$WORK/cb.secrets"
sign NODERR_COINBASE_EXCHANGE_SECRETS_FILE="$WORK/cb.secrets"
[ "$RC" -ne 0 ] || fail "a 0640 secrets file was accepted"
grep -q "0600" "$ERR" || fail "the refusal does not name the 0600 rule"

check "a multi-line PEM in a file without its END line is refused without echoing it"
printf 'api_key=%s\napi_secret=-----BEGIN EC PRIVATE KEY-----\n%s\n' "$KEY" "$PEM_BODY" \
    >"$WORK/at.secrets"
chmod 600 "$WORK/at.secrets"
sign NODERR_COINBASE_EXCHANGE_SECRETS_FILE="$WORK/at.secrets"
[ "$RC" -ne 0 ] || fail "an unterminated PEM was accepted"
grep -q "END" "$ERR" || fail "the refusal does not say the END line is missing"

check "a secret that is not base64 is refused without echoing it"
sign NODERR_COINBASE_EXCHANGE_API_SECRET="$BAD"
[ "$RC" -ne 0 ] || fail "a non-base64 secret was accepted"
[ -s "$ERR" ] || fail "no error message for a non-base64 secret"

check "nothing configured: the error names the variables, not values"
sign NODERR_COINBASE_EXCHANGE_API_SECRET= NODERR_COINBASE_EXCHANGE_API_KEY="$KEY"
[ "$RC" -ne 0 ] || fail "an empty secret was accepted"

check "no secret value appears in any output"
for s in "$SECRET" "$KEY" "$PASS" "$BAD" "$PEM_BODY"; do
    if grep -qF -- "$s" "$ALL"; then
        fail "a secret value appeared in the output"
    fi
done
echo "64_coinbase_secrets: all checks passed"
