#!/usr/bin/python3
"""postfix-verify.py - check that the expected outputs of `postern check`
cases are what Postfix 3.7 answers.

Each case (NAME.in: main.cf, tables, a script without "dns" lines) becomes
a scenario of the compatibility harness (shared/compat): the same main.cf
and tables, the zone file as its DNS data, one SMTP session per "client"
line (XCLIENT gives the client's address and name).  The harness records
Postfix's replies (Debian's postfix, a private instance in private
namespaces, root needed); they are turned into the lines `postern check`
prints and compared with NAME.out (trace and log lines are skipped).
Postfix's warnings for each case are printed too, to compare with the
"log: warning:" lines of traced cases.

    postfix-verify.py [--compat DIR] [--zone FILE] [--subst NAME=VALUE]...
                      [--shared-net] [--keep DIR] CASE.in...

--subst replaces words in the case as the test runner does (POLICYPORT);
--shared-net keeps the machine's network (policy servers on loopback);
exit status 0 when every case matches.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

PSEUDO = ("SERVFAIL", "NXDOMAIN", "REFUSED", "TIMEOUT")


def sections(path, subst):
    order, out, sec = [], {}, None
    for line in open(path, encoding="utf-8"):
        if line.startswith("=== "):
            parts = line[4:].split(None, 1)
            sec = (parts[0], parts[1].strip() if len(parts) > 1 else "")
            order.append(sec)
            out[sec] = []
            continue
        if sec is None:
            continue
        for k, v in subst:
            line = line.replace(k, v)
        out[sec].append(line)
    return order, out


def zone_for_harness(path):
    """The zone file in the harness's syntax: no trailing comments, and the
    pseudo types cover the names below as unbound-server.sh's do."""
    lines = []
    for raw in open(path, encoding="utf-8"):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        # a comment after white space, outside quotes
        quoted, cut = False, len(line)
        for i, c in enumerate(line):
            if c == '"':
                quoted = not quoted
            elif c == "#" and not quoted and i > 0 and line[i - 1].isspace():
                cut = i
                break
        line = line[:cut].rstrip()
        words = line.split()
        lines.append(line)
        if len(words) >= 2 and words[-1].upper() in PSEUDO:
            lines.append("*." + line)
    return "\n".join(lines) + "\n"


def client_words(words):
    addr, name, reverse, helo, login = words[1], None, None, None, None
    for w in words[2:]:
        k, eq, v = w.partition("=")
        if not eq and name is None:
            name = w
        elif k == "name":
            name = v
        elif k in ("reverse", "reverse_name"):
            reverse = v
        elif k == "helo":
            helo = v
        elif k == "login":
            login = v
        elif k in ("name_status", "reverse_status", "port", "server"):
            raise SystemExit("client attribute %s is not translated" % k)
    return addr, name or "unknown", reverse, helo, login


def session_lines(script):
    """Harness sessions (title, lines) and, per session, the check script
    lines whose replies are compared."""
    sessions = []
    cur = None
    for raw in script:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        words = line.split()
        verb = words[0].lower()
        if verb == "client":
            addr, name, reverse, helo, login = client_words(words)
            cur = {"title": line, "lines": [], "steps": [line]}
            sessions.append(cur)
            if addr == "127.0.0.1" and name == "localhost" and reverse in (None, "localhost") \
                    and not helo and not login:
                continue
            attrs = ["ADDR=%s" % (("IPV6:" + addr) if ":" in addr else addr)]
            attrs.append("NAME=%s" % ("[UNAVAILABLE]" if name == "unknown" else name))
            if reverse is not None and reverse != name:
                attrs.append("REVERSE_NAME=%s" % ("[UNAVAILABLE]" if reverse == "unknown" else reverse))
            elif name == "unknown":
                attrs.append("REVERSE_NAME=[UNAVAILABLE]")
            if helo:
                attrs.append("HELO=%s" % helo)
            if login:
                attrs.append("LOGIN=%s" % login)
            cur["lines"].append("xclient " + " ".join(attrs))
            continue
        if cur is None:
            raise SystemExit("script line before the first client line: %s" % line)
        cur["steps"].append(line)
        if verb in ("ehlo", "helo"):
            cur["lines"].append("> %s %s" % (verb.upper(), words[1]))
        elif verb in ("mail", "from"):
            arg = words[1] if len(words) > 1 else "<>"
            cur["lines"].append("> MAIL FROM:%s" % (arg if arg.startswith("<") else "<%s>" % arg))
        elif verb in ("rcpt", "to"):
            arg = words[1]
            cur["lines"].append("> RCPT TO:%s" % (arg if arg.startswith("<") else "<%s>" % arg))
        elif verb == "data":
            cur["lines"].append("> DATA")
        elif verb in ("eod", "end-of-data", "."):
            cur["lines"].append("| Subject: test")
            cur["lines"].append("|")
            cur["lines"].append("| test")
            cur["lines"].append("> .")
        elif verb in ("rset", "quit"):
            cur["lines"].append("> " + verb.upper())
        else:
            raise SystemExit("script verb %s is not translated" % verb)
    return sessions


def scenario_text(name, order, secs, zone):
    out = ["description: %s (from tests/check-live)" % name, "tags: check-live", ""]
    for kind, arg in order:
        body = "".join(secs[(kind, arg)])
        if kind == "main.cf":
            out.append("=== main.cf")
            out.append(body.rstrip("\n"))
        elif kind == "table":
            out.append("=== table %s" % arg)
            out.append(body.rstrip("\n"))
        elif kind == "file":
            out.append("=== table file:%s" % arg)
            out.append(body.rstrip("\n"))
    out.append("=== dns")
    out.append(zone.rstrip("\n"))
    script = secs.get(("script", ""), [])
    for i, sess in enumerate(session_lines(script)):
        out.append("")
        out.append("=== session %d %s" % (i + 1, sess["title"]))
        out.extend(sess["lines"])
    return "\n".join(out) + "\n", session_lines(script)


def expected_from_golden(sessions, golden):
    """The lines `postern check` prints, with Postfix's replies."""
    lines = []
    for sess, rec in zip(sessions, golden["sessions"]):
        replies = [r["reply"] for r in rec["replies"]]
        # slot 0: the greeting of the harness's own connection; with
        # XCLIENT, slot 1 is the greeting the simulated client sees
        slot = 1 if sess["lines"] and sess["lines"][0].startswith("xclient") else 0
        closed = False
        for step in sess["steps"]:
            words = step.split()
            verb = words[0].lower()
            if verb == "client":
                addr, name, *_ = client_words(words)
                header = "CONNECT from %s[%s]" % (name, addr)
            elif verb in ("ehlo", "helo"):
                header = "%s %s" % (verb.upper(), words[1])
            elif verb in ("mail", "from"):
                arg = words[1] if len(words) > 1 else "<>"
                header = "MAIL FROM:%s" % (arg if arg.startswith("<") else "<%s>" % arg)
            elif verb in ("rcpt", "to"):
                header = "RCPT TO:%s" % (words[1] if words[1].startswith("<") else "<%s>" % words[1])
            elif verb == "data":
                header = "DATA"
            elif verb in ("eod", "end-of-data", "."):
                header = "END-OF-MESSAGE"
            else:
                header = verb.upper()
            if closed:
                lines.append(step)
                lines.append("  [connection closed]")
                continue
            reply = replies[slot] if slot < len(replies) else ["[missing]"]
            slot += 1
            text = reply[-1] if reply else ""
            if verb in ("ehlo", "helo") and re.match(r"^250[- ]", reply[0]):
                text = "250 " + reply[0][4:]
            text = text.replace("queued as QUEUEID", "queued as (what-if)")
            lines.append(header)
            lines.append("  " + text)
            if re.match(r"^(421|521) ", text) or verb == "quit" or text.startswith("[connection closed]"):
                closed = True
    return lines


def postern_warnings(args, path, subst):
    """The warnings `postern check --trace` logs for the case, or None
    without --postern."""
    if not args.postern:
        return None
    d = tempfile.mkdtemp(prefix="postern-verify-")
    try:
        tables = os.path.join(d, "tables")
        os.makedirs(tables)
        order, secs = sections(path, subst + [("TABLEDIR", tables)])
        shutil.copy(args.base, os.path.join(d, "main.cf"))
        for kind, arg in order:
            body = "".join(secs[(kind, arg)])
            if kind == "main.cf":
                with open(os.path.join(d, "main.cf"), "a") as f:
                    f.write("\n" + body)
            elif kind in ("table", "file"):
                ttype, _, tname = arg.partition(":") if kind == "table" else ("file", "", arg)
                with open(os.path.join(tables, tname), "w") as f:
                    f.write(body)
                if ttype in ("hash", "btree", "lmdb"):
                    subprocess.call([args.postern, "-c", d, "map",
                                     "%s:%s" % (ttype, os.path.join(tables, tname))])
            elif kind == "script":
                with open(os.path.join(d, "script"), "w") as f:
                    f.write(body)
        extra = []
        for kind, arg in order:
            if kind == "args":
                extra = "".join(secs[(kind, arg)]).split()
        cmd = [args.postern, "-c", d, "check", "--trace"] + args.postern_arg + extra + \
            [os.path.join(d, "script")]
        out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             universal_newlines=True).stdout
        return [l.strip()[len("log: warning: "):] for l in out.splitlines()
                if l.strip().startswith("log: warning: ")]
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--compat", default=os.path.join(here, "..", "..", "..", "shared", "compat"))
    ap.add_argument("--zone", default=os.path.join(here, "zone"))
    ap.add_argument("--subst", action="append", default=[])
    ap.add_argument("--shared-net", action="store_true")
    ap.add_argument("--keep", help="keep scenarios, goldens and Postfix's logs here")
    ap.add_argument("--postern", help="also compare the warnings of this postern binary")
    ap.add_argument("--postern-arg", action="append", default=[],
                    help="an argument for its `postern check` (--dns-servers=...)")
    ap.add_argument("--base", default=os.path.join(here, "base.cf"))
    ap.add_argument("cases", nargs="+")
    args = ap.parse_args()
    subst = [tuple(s.split("=", 1)) for s in args.subst]
    zone = zone_for_harness(args.zone)
    corpus = args.keep or tempfile.mkdtemp(prefix="pv-")
    os.makedirs(corpus, exist_ok=True)
    tmp = os.path.join(corpus, "t")
    os.makedirs(tmp, exist_ok=True)
    # Postfix's daemons run as the postfix user: the work dirs must be reachable
    os.chmod(corpus, 0o755)
    os.chmod(tmp, 0o755)
    plan = []
    for path in args.cases:
        name = os.path.basename(path)[:-3]
        order, secs = sections(path, subst)
        text, sessions = scenario_text(name, order, secs, zone)
        with open(os.path.join(corpus, name + ".scn"), "w") as f:
            f.write(text)
        plan.append((name, path, sessions))
    env = dict(os.environ, HARNESS_SCENARIOS=corpus, TMPDIR=tmp)
    if args.shared_net:
        env["HARNESS_ISOLATION"] = "shared-net"
    harness = os.path.join(args.compat, "lib", "harness.py")
    rc = subprocess.call([sys.executable, harness, "record", "--keep"] + [p[0] for p in plan],
                         env=env)
    if rc != 0:
        print("the harness reported errors (exit %d)" % rc)
    failed = warn_diff = 0
    for name, path, sessions in plan:
        golden_path = os.path.join(corpus, name + ".golden.json")
        if not os.path.exists(golden_path):
            print("not ok %s: no golden" % name)
            failed += 1
            continue
        golden = json.load(open(golden_path))
        expected = expected_from_golden(sessions, golden)
        actual = [l.rstrip("\n") for l in open(path[:-3] + ".out")
                  if not l.startswith("    ")]
        if expected == actual:
            print("ok %s (Postfix agrees)" % name)
        else:
            failed += 1
            print("not ok %s: Postfix answers differently" % name)
            import difflib
            for d in difflib.unified_diff(actual, expected, "postern " + name + ".out",
                                          "postfix", lineterm="", n=1):
                print("    " + d)
        # Warnings: Postfix's maillog against postern's "log: warning:" lines
        pf_warn = []
        for d in sorted(os.listdir(tmp)):
            if re.match(r"^harness-%s-[^-]{8}$" % re.escape(name[:40]), d):
                p = os.path.join(tmp, d, "server.log")
                if os.path.exists(p):
                    pf_warn += [re.sub(r"^.*?: warning: ", "", l.rstrip())
                                for l in open(p, errors="replace")
                                if "smtpd[" in l and ": warning: " in l
                                and "overriding earlier entry" not in l]
        pn_warn = postern_warnings(args, path, subst)
        if pn_warn is None:
            continue
        if sorted(set(pf_warn)) == sorted(set(pn_warn)):
            for w in sorted(set(pf_warn)):
                print("    same warning: %s" % w)
        else:
            warn_diff += 1
            for w in sorted(set(pf_warn) - set(pn_warn)):
                print("    warning only Postfix logs: %s" % w)
            for w in sorted(set(pn_warn) - set(pf_warn)):
                print("    warning only postern logs: %s" % w)
    print("%d cases, %d with other replies than Postfix's, %d with other warnings"
          % (len(plan), failed, warn_diff))
    if not args.keep:
        shutil.rmtree(corpus, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
