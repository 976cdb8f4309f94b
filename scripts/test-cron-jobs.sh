#!/usr/bin/env bash
# Smoke-test the cron routes of a running deployment (local `scripts/dev` or a real one).
#
#   CRON_SECRET=... [BASE_URL=http://localhost:3000] scripts/test-cron-jobs.sh [all|daily|hourly|weekly]
#
# Exit 0 only if every route answered HTTP 200 with outcome completed or skipped_duplicate;
# a 200 whose body says "failed" (or anything else) is a failure. Exit 2 on usage errors.
set -euo pipefail

usage() {
  echo "usage: CRON_SECRET=... [BASE_URL=url] $0 [all|daily|hourly|weekly]" >&2
  exit 2
}

(($# <= 1)) || usage
case ${1:-all} in
all) routes=(daily hourly weekly) ;;
daily | hourly | weekly) routes=("$1") ;;
*) usage ;;
esac
if [[ -z ${CRON_SECRET:-} ]]; then
  echo "$0: CRON_SECRET is not set (the routes reject unauthenticated calls)" >&2
  exit 2
fi
BASE_URL=${BASE_URL:-http://localhost:3000}
BASE_URL=${BASE_URL%/}

# Value of a top-level key in a JSON object, without jq: a small scanner that skips strings
# (with escapes) and tracks nesting, so a nested "duration_ms" (e.g. per task) is never taken.
# Prints the raw number / string contents of the first top-level match, nothing if absent.
json_top() {
  awk -v want="$1" '
    { s = s $0 "\n" }
    END {
      n = length(s); depth = 0; i = 1
      while (i <= n) {
        c = substr(s, i, 1)
        if (c == "\"") {
          j = i + 1
          while (j <= n && (d = substr(s, j, 1)) != "\"") j += (d == "\\") ? 2 : 1
          key = substr(s, i + 1, j - i - 1); i = j + 1
          if (depth != 1 || key != want) continue
          k = i; while (substr(s, k, 1) ~ /[ \t\r\n]/) k++
          if (substr(s, k, 1) != ":") continue          # a value that equals want, not a key
          k++; while (substr(s, k, 1) ~ /[ \t\r\n]/) k++
          if (substr(s, k, 1) == "\"") {
            j = k + 1
            while (j <= n && (d = substr(s, j, 1)) != "\"") j += (d == "\\") ? 2 : 1
            print substr(s, k + 1, j - k - 1)
          } else {
            v = ""; while (substr(s, k, 1) ~ /[-+.0-9eEa-z]/) { v = v substr(s, k, 1); k++ }
            print v
          }
          exit
        }
        if (c == "{" || c == "[") depth++
        else if (c == "}" || c == "]") depth--
        i++
      }
    }'
}

body=$(mktemp)
cfg=$(mktemp)
trap 'rm -f "$body" "$cfg"' EXIT
# Pass the secret through a curl config file rather than argv, so it never shows in ps.
secret=${CRON_SECRET//\\/\\\\}
printf 'header = "Authorization: Bearer %s"\n' "${secret//\"/\\\"}" >"$cfg"

fmt='%-8s %-5s %-18s %12s\n'
# shellcheck disable=SC2059 # fmt is a fixed format string
printf "$fmt" ROUTE HTTP OUTCOME DURATION_MS
failures=()
for route in "${routes[@]}"; do
  : >"$body"
  rc=0
  # Connection errors leave %{http_code} at 000; --max-time covers the longest job budget.
  code=$(curl -sS -X POST --max-time 900 -K "$cfg" -o "$body" -w '%{http_code}' \
    "$BASE_URL/api/cron/$route") || rc=$?
  outcome=$(json_top outcome <"$body")
  duration=$(json_top duration_ms <"$body")
  # shellcheck disable=SC2059
  printf "$fmt" "$route" "${code:-000}" "${outcome:--}" "${duration:--}"

  ok=0
  if ((rc == 0)) && [[ $code == 200 ]]; then
    case $outcome in completed | skipped_duplicate) ok=1 ;; esac
  fi
  if ((!ok)); then
    reason="HTTP ${code:-000}, outcome ${outcome:-none}"
    ((rc == 0)) || reason+=", curl exit $rc"
    failures+=("$route: $reason: $(head -c 300 "$body" | tr '\n' ' ')")
  fi
done

if ((${#failures[@]})); then
  echo >&2
  printf 'FAILED %s\n' "${failures[@]}" >&2
  exit 1
fi
