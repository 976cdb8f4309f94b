#!/usr/bin/env python3
"""The checks of scripts/vercel-check that read JSON: the build output against vercel.json,
the built executables' answers, and the slot a schedule's call stands for, computed here
independently of the Rust code (crates/nightshift-core/src/schedule.rs) so the two can be
compared. Subcommands:

  selftest                      the slot computation on known cases
  variant SHIPPED EXAMPLE       print SHIPPED (a vercel.json) with its crons/schedules
                                replaced by EXAMPLE's `schedules`
  output OUT VERCEL_JSON ROUTE.. the build output OUT against VERCEL_JSON
  handler OUT FUNCTION          the executable `vercel build` made for FUNCTION
  compare WORK ROUTE            a route's answers, built vs cargo-built (dry runs)
  status WORK                   the status function's answers, built vs cargo-built
  schedule VERCEL_JSON ROUTE    "<expression>\t<time zone>" of ROUTE's schedule
  slot VERCEL_JSON ROUTE UNIX   the slot (RFC 3339, UTC) a call at UNIX seconds claims
  runs WORK ROUTE VERCEL_JSON DB  a scheduled POST and GET against that slot and job_history
  emulator WORK ROUTE           the call `vercel schedules invoke --local` made, against the POST
"""
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

problems = []


def fail(msg):
    problems.append(msg)


def finish(ok_message=None):
    for p in problems:
        print(f"scripts/vercel-check: FAIL: {p}", file=sys.stderr)
    if problems:
        sys.exit(1)
    if ok_message:
        print(f"scripts/vercel-check: {ok_message}", file=sys.stderr)


def load(path):
    with open(path) as f:
        return json.load(f)


def schedules_array(value):
    """`schedules` as the CLI's array: Vercel's docs show an object keyed by name, which
    CLI 64.0.2 refuses ("`schedules` should be array"); both read the same here."""
    if isinstance(value, dict):
        return [dict(v, name=k) for k, v in value.items()]
    return list(value or [])


def canonical(entries):
    return sorted(json.dumps(e, sort_keys=True) for e in entries)


def route_schedule(spec, route):
    """(expression, zone) of the cron or path schedule that calls `route`; crons are UTC."""
    found = [(c["schedule"], "UTC") for c in spec.get("crons") or []
             if c["path"].split("?")[0] == route]
    found += [(s["schedule"], s.get("timezone", "UTC")) for s in schedules_array(spec.get("schedules"))
              if s.get("path", "").split("?")[0] == route]
    if len(found) != 1:
        sys.exit(f"scripts/vercel-check: FAIL: {route} has {len(found)} schedules in vercel.json")
    return found[0]


# --- cron, in a time zone -----------------------------------------------------------------
FIELDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))


def cron_field(text, lo, hi):
    values = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step = part.split("/")
            step = int(step)
        if part == "*":
            a, b = lo, hi
        elif "-" in part:
            a, b = map(int, part.split("-"))
        else:
            a = int(part)
            b = hi if step > 1 else a
        values.update(range(a, b + 1, step))
    return values


def cron_matcher(expr):
    parts = expr.split()
    if len(parts) != 5:
        raise ValueError(f"{expr!r}: expected five fields")
    minute, hour, dom, month, dow = (cron_field(p, *r) for p, r in zip(parts, FIELDS))
    dow = {d % 7 for d in dow}
    dom_any, dow_any = parts[2] == "*", parts[4] == "*"

    def matches(t):
        if t.minute not in minute or t.hour not in hour or t.month not in month:
            return False
        in_dom, in_dow = t.day in dom, t.isoweekday() % 7 in dow
        if not dom_any and not dow_any:
            return in_dom or in_dow  # classic cron: either day field
        return in_dom and in_dow

    return matches


def slot_at(expr, zone, now):
    """The latest instant at or before `now` whose wall time in `zone` matches `expr`. A wall
    time that does not exist (spring forward) is no instant; one that exists twice (fall back)
    counts once, at its first instant: the rules issue 31 gives for both platforms."""
    tz, matches = ZoneInfo(zone), cron_matcher(expr)
    t = now.astimezone(timezone.utc).replace(second=0, microsecond=0)
    for _ in range(60 * 24 * 400):
        local = t.astimezone(tz)
        if matches(local) and not (local.fold and local.replace(fold=0).astimezone(timezone.utc) != t):
            return t
        t -= timedelta(minutes=1)
    raise ValueError(f"{expr!r} in {zone}: no slot within 400 days")


def rfc3339(t):
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- subcommands --------------------------------------------------------------------------
def cmd_selftest():
    """slot_at on cases worked out by hand, daylight saving included, before any is trusted."""
    def at(*a):
        return datetime(*a, tzinfo=timezone.utc)
    cases = [
        ("30 6 * * *", "Asia/Kolkata", at(2026, 12, 6, 6, 30), "2026-12-06T01:00:00Z"),
        ("30 6 * * *", "Asia/Kolkata", at(2026, 12, 6, 0, 59), "2026-12-05T01:00:00Z"),
        ("0 8 * * 1", "Europe/Berlin", at(2026, 12, 6, 6, 30), "2026-11-30T07:00:00Z"),
        ("0 8 * * 1", "Europe/Berlin", at(2026, 7, 8, 0, 0), "2026-07-06T06:00:00Z"),
        # 02:30 does not exist in Berlin on 2027-03-28: no slot that day.
        ("30 2 * * *", "Europe/Berlin", at(2027, 3, 28, 12, 0), "2027-03-27T01:30:00Z"),
        # 02:30 comes twice on 2026-10-25 (00:30Z and 01:30Z): one slot, the first.
        ("30 2 * * *", "Europe/Berlin", at(2026, 10, 25, 1, 45), "2026-10-25T00:30:00Z"),
        ("0 9 * * *", "America/New_York", at(2026, 11, 2, 13, 59), "2026-11-01T14:00:00Z"),
        ("0 * * * *", "UTC", at(2026, 12, 6, 6, 0, 0), "2026-12-06T06:00:00Z"),
        ("*/15 9-17 * * 1-5", "UTC", at(2026, 12, 6, 6, 0), "2026-12-04T17:45:00Z"),
        ("0 0 1 * 0", "UTC", at(2026, 12, 6, 6, 0), "2026-12-06T00:00:00Z"),  # day of month OR week
    ]
    for expr, zone, now, want in cases:
        got = rfc3339(slot_at(expr, zone, now))
        if got != want:
            fail(f"check.py selftest: {expr!r} in {zone} at {rfc3339(now)}: {got}, expected {want}")
    finish()


def cmd_variant(shipped, example):
    spec = load(shipped)
    spec.pop("crons", None)
    spec["schedules"] = load(example)["schedules"]
    print(json.dumps(spec, indent=2))


def handler_path(func_dir):
    # `vercel build` outside Vercel may copy no binary into the .func folder: it maps the
    # handler to the cargo output (filePathMap, relative to the project) for upload.
    cfg = load(f"{func_dir}/.vc-config.json")
    handler = cfg.get("handler", "executable")
    inside = f"{func_dir}/{handler}"
    return inside if os.path.exists(inside) else cfg.get("filePathMap", {}).get(handler, inside)


def cmd_handler(out, function):
    print(handler_path(f"{out}/functions/{function}.func"))


def cmd_output(out, spec_path, *routes):
    spec = load(spec_path)
    funcs = sorted(os.path.relpath(d, f"{out}/functions")
                   for d, _, _ in os.walk(f"{out}/functions") if d.endswith(".func"))
    # Every function of vercel.json (the cron routes and the status function), nothing else.
    want = sorted(src[: -len(".rs")] + ".func" for src in spec["functions"])
    if funcs != want:
        fail(f"functions {funcs}, expected {want}")
    missing = [r for r in routes if f"api/cron/{r}.rs" not in spec["functions"]]
    if missing:
        fail(f"routes without a function in vercel.json: {missing}")
    for src, fn in spec["functions"].items():
        func_dir = f"{out}/functions/{src[: -len('.rs')]}.func"
        if not os.path.exists(f"{func_dir}/.vc-config.json"):
            continue
        cfg = load(f"{func_dir}/.vc-config.json")
        if cfg.get("maxDuration") != fn["maxDuration"]:
            fail(f"{src}: maxDuration {cfg.get('maxDuration')}, vercel.json says {fn['maxDuration']}")
        if cfg.get("runtime") != "executable":
            fail(f"{src}: runtime {cfg.get('runtime')}, expected executable")
        if not os.access(handler_path(func_dir), os.X_OK):
            fail(f"{src}: no executable handler at {handler_path(func_dir)}")
    config = load(f"{out}/config.json")
    # The CLI copies both keys as written (64.0.2 adds no default time zone or method).
    for key, norm in (("crons", list), ("schedules", schedules_array)):
        got, expected = norm(config.get(key) or []), norm(spec.get(key) or [])
        if canonical(got) != canonical(expected):
            fail(f"config.json {key} {got}, vercel.json says {expected}")
    for r in routes:
        route_schedule(spec, f"/api/cron/{r}")
    n = {k: len(schedules_array(config.get(k))) for k in ("crons", "schedules")}
    finish(f"{len(funcs)} functions, {n['crons']} crons and {n['schedules']} schedules as in {spec_path}")


def answer(work, label, kind):
    status = int(open(f"{work}/{label}.{kind}.status").read())
    try:
        return status, load(f"{work}/{label}.{kind}")
    except ValueError as e:
        fail(f"{label}.{kind}: not JSON: {e}")
        return status, {}


def cmd_compare(work, route):
    for kind, wanted, outcome in (("401", 401, "error"), ("200", 200, "dry_run")):
        vs, vb = answer(work, f"vercel-{route}", kind)
        cs, cb = answer(work, f"cargo-{route}", kind)
        if (vs, cs) != (wanted, wanted):
            fail(f"{route} {kind}: built {vs}, cargo {cs}, expected {wanted}")
        if vb.get("outcome") != outcome or cb.get("outcome") != outcome:
            fail(f"{route} {kind}: outcomes {vb.get('outcome')} / {cb.get('outcome')}")
        if sorted(vb) != sorted(cb):
            fail(f"{route} {kind}: keys differ: built {sorted(vb)}, cargo {sorted(cb)}")
        if kind == "200" and vb.get("route") != f"/api/cron/{route}":
            fail(f"{route} 200: route {vb.get('route')}")
    finish()


def cmd_status(work):
    for kind, wanted in (("401", 401), ("200", 200)):
        (vs, vb), (cs, cb) = (answer(work, f"{who}-status", kind) for who in ("vercel", "cargo"))
        if (vs, cs) != (wanted, wanted):
            fail(f"status {kind}: built {vs}, cargo {cs}, expected {wanted}")
        if kind == "200" and sorted(vb) != sorted(cb):
            fail(f"status: keys differ: built {sorted(vb)}, cargo {sorted(cb)}")
    finish()


def cmd_schedule(spec_path, route):
    print("\t".join(route_schedule(load(spec_path), route)))


def cmd_slot(spec_path, route, unix):
    expr, zone = route_schedule(load(spec_path), route)
    print(rfc3339(slot_at(expr, zone, datetime.fromtimestamp(float(unix), timezone.utc))))


def cmd_runs(work, route, spec_path, db):
    """The POST (the schedules' default method) claims the slot of the schedule's zone; the
    GET right after lands on the same slot as a duplicate. The slot is computed for the
    instants just before and just after the POST, so a slot boundary between the two
    cannot fail the check."""
    path = f"/api/cron/{route}"
    expr, zone = route_schedule(load(spec_path), path)
    before, after = (datetime.fromtimestamp(float(open(f"{work}/{route}.{t}").read()), timezone.utc)
                     for t in ("t0", "t1"))
    slots = {rfc3339(slot_at(expr, zone, t)) for t in (before, after)}
    utc = rfc3339(slot_at(expr, "UTC", after))
    ps, post = answer(work, f"variant-{route}", "post")
    gs, get = answer(work, f"variant-{route}", "get")
    if ps != 200 or post.get("outcome") != "completed" or post.get("trigger") != "cron":
        fail(f"{path} POST: {ps} {post.get('outcome')} ({post.get('trigger')}): {post.get('message')}")
    if post.get("slot") not in slots:
        hint = " (the UTC reading of the schedule)" if post.get("slot") == utc else ""
        fail(f"{path} POST claimed slot {post.get('slot')}{hint}; {expr!r} in {zone} gives "
             f"{' or '.join(sorted(slots))}")
    if gs != 200 or get.get("outcome") != "skipped_duplicate":
        fail(f"{path} GET: {gs} {get.get('outcome')}: {get.get('message')}")
    if get.get("slot") != post.get("slot") or get.get("existing_run") != post.get("run_id"):
        fail(f"{path} GET: slot {get.get('slot')} run {get.get('existing_run')}, "
             f"POST claimed {post.get('slot')} as {post.get('run_id')}")
    ledger = subprocess.run(
        ["psql", "-XqAt", "-F", " ", db, "-c",
         "SELECT to_char(slot AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), status, trigger"
         f" FROM job_history WHERE id = '{post.get('run_id') or '00000000-0000-0000-0000-000000000000'}'"],
        check=True, capture_output=True, text=True).stdout.split()
    if ledger != [post.get("slot") or "-", "completed", "cron"]:
        fail(f"{path}: job_history has {ledger} for run {post.get('run_id')}, "
             f"expected [{post.get('slot')}, completed, cron]")
    finish(f"{path}: {expr!r} in {zone} claimed {post.get('slot')} (POST), GET a duplicate of it")


def cmd_emulator(work, route):
    """`vercel dev`'s local Schedules called the route through scripts/vercel/bearer-proxy.py;
    the route ran it on the slot the direct POST had claimed: a duplicate of that run."""
    path = f"/api/cron/{route}"
    calls = [json.loads(line) for line in open(f"{work}/proxy.log") if line.strip()]
    _, post = answer(work, f"variant-{route}", "post")
    if not calls:
        fail(f"the emulator made no call to {path}")
    for c in calls[:1]:
        got = c.get("answer", {})
        print(f"scripts/vercel-check: the emulator sent {c['method']} {c['path']} with "
              f"user-agent {c['user_agent']!r}, bearer {'yes' if c['had_bearer'] else 'no'}, "
              f"x-vercel-cron-schedule {c['cron_schedule']!r}", file=sys.stderr)
        if c["method"] != "POST" or c["path"].split("?")[0] != path:
            fail(f"emulator: {c['method']} {c['path']}, expected POST {path} (the default method)")
        if c["status"] != 200 or got.get("outcome") != "skipped_duplicate":
            fail(f"emulator: {c['status']} {got.get('outcome')}: {got.get('message')}")
        if got.get("slot") != post.get("slot") or got.get("existing_run") != post.get("run_id"):
            fail(f"emulator: slot {got.get('slot')} run {got.get('existing_run')}, the POST "
                 f"claimed {post.get('slot')} as {post.get('run_id')}")
    finish(f"vercel dev's schedule call to {path} landed on slot {post.get('slot')}")


if __name__ == "__main__":
    commands = {name[4:]: f for name, f in globals().items() if name.startswith("cmd_")}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    commands[sys.argv[1]](*sys.argv[2:])
