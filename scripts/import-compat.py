#!/usr/bin/python3
"""import-compat.py - turn compatibility scenarios into `postern check`
engine tests (tests/check/PREFIXNAME.in and .out).

The .out files hold the replies Postfix 3.7 gave in the recorded sessions
(the NAME.golden.json next to each NAME.scn), in the form `postern check`
prints them, so the engine tests compare postern's decisions with Postfix's.
Scenarios that depend on what the what-if tool does not model (raw bytes,
PROXY, pipelining rules, TLS, protocol errors, a server that hangs up
without a 421/521 reply) are skipped with the reason.

    scripts/import-compat.py [--compat DIR] [--scenarios DIR] [--prefix P]
                             [--out DIR] [NAME-or-GLOB ...]

--compat is the harness (base/ main.cf, dns.zone, sasl_users; lib/);
--scenarios the folder of .scn/.golden.json files, by default the shared
corpus in COMPAT/scenarios, whose tests are named compat-NAME; scenarios
from any other folder (e.g. tests/scenarios) keep their own NAME unless
--prefix says otherwise.

Only replies are compared: the "action:" lines `postern check` prints after
an accepted message (HOLD, DISCARD, FILTER, ...) have no counterpart in
Postfix's replies and are not written to the .out files.
"""
import argparse
import fnmatch
import hashlib
import os
import re
import sys

UNSUPPORTED_CONF = ("smtpd_forbid_unauth_pipelining",
                    "smtpd_discard_ehlo", "smtpd_hard_error_limit", "smtpd_soft_error_limit",
                    "strict_rfc821_envelopes", "line_length_limit", "smtpd_forbid_bare_newline",
                    "disable_vrfy_command", "smtputf8", "smtpd_reject_footer",
                    "smtpd_recipient_limit", "smtpd_tls", "smtpd_upstream_proxy")
SUPPORTED_VERBS = ("EHLO", "HELO", "MAIL", "RCPT", "DATA", "RSET", "QUIT", "XCLIENT", "AUTH",
                   "ETRN")
TYPES = ("A", "AAAA", "MX", "TXT", "PTR", "NS", "CNAME")
PSEUDO = ("SERVFAIL", "REFUSED", "NXDOMAIN", "TIMEOUT")


class Skip(Exception):
    pass


def zone_lines(text):
    """(name, type, data) from a dns.zone text: NAME [TTL] TYPE DATA."""
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^(\S+)\s+(?:(\d+)\s+)?(\S+)\s*(.*)$", line)
        if not m:
            continue
        out.append((m.group(1), m.group(3).upper(), m.group(4).strip()))
    return out


def dns_script(base_zone, scenario_zone):
    base = zone_lines(base_zone)
    extra = zone_lines(scenario_zone)
    replaced = {n.lower() for n, _, _ in extra}
    records = [r for r in base if r[0].lower() not in replaced] + extra
    lines = []
    for name, rtype, data in records:
        if re.match(r"^[0-9.]+$", name) or ":" in name:
            # An address stands for its reverse name (postern check does the same).
            pass
        if rtype in PSEUDO:
            value = "NXDOMAIN" if rtype == "NXDOMAIN" else "SERVFAIL"
            for t in TYPES:
                lines.append("dns %s %s %s" % (name, t, value))
            continue
        if rtype not in TYPES:
            raise Skip("DNS record type %s" % rtype)
        lines.append("dns %s %s %s" % (name, rtype, data))
    return lines


def xclient_line(attrs, real):
    """A `client` line for an XCLIENT command; real: attributes so far.

    As in Postfix 3.7, NAME with a real name also sets the reverse name
    unless the same command gives REVERSE_NAME; NAME=[UNAVAILABLE] or
    [TEMPUNAVAIL] leaves the reverse name as it was.
    """
    cur = dict(real)
    given = set()
    for a in attrs:
        k, _, v = a.partition("=")
        cur[k.upper()] = v
        given.add(k.upper())
    if "NAME" in given and "REVERSE_NAME" not in given and \
            cur["NAME"] not in ("[UNAVAILABLE]", "[TEMPUNAVAIL]"):
        cur["REVERSE_NAME"] = cur["NAME"]
    addr = cur.get("ADDR", "127.0.0.1")
    if addr.upper().startswith("IPV6:"):
        addr = addr[5:]
    name = cur.get("NAME", "localhost")
    rev = cur.get("REVERSE_NAME")
    words = ["client", addr]
    if name == "[UNAVAILABLE]":
        words.append("unknown")
        if rev is None:
            rev = real.get("REVERSE_NAME", "localhost")
    elif name == "[TEMPUNAVAIL]":
        words += ["unknown", "name_status=temp"]
        if rev is None:
            rev = real.get("REVERSE_NAME", "localhost")
    else:
        words.append(name)
        if rev is None:
            rev = name
    if rev == "[UNAVAILABLE]":
        words.append("reverse=unknown")
    elif rev == "[TEMPUNAVAIL]":
        words += ["reverse=unknown", "reverse_status=temp"]
    else:
        words.append("reverse=" + rev)
    if "HELO" in cur:
        words.append("helo=" + cur["HELO"])
    if "LOGIN" in cur:
        words.append("login=" + cur["LOGIN"])
    if "PORT" in cur:
        words.append("port=" + cur["PORT"])
    return " ".join(words), cur


def header_for(line):
    """What `postern check` prints as the step header for a script line."""
    w = line.split()
    verb = w[0].lower()
    if verb == "client":
        name = w[2] if len(w) > 2 and "=" not in w[2] else "unknown"
        return "CONNECT from %s[%s]" % (name, w[1])
    if verb in ("ehlo", "helo"):
        return "%s %s" % (verb.upper(), w[1])
    if verb == "mail":
        addr = w[1].strip("<>") if len(w) > 1 else ""
        return "MAIL FROM:<%s>" % addr
    if verb == "rcpt":
        return "RCPT TO:<%s>" % w[1].strip("<>")
    if verb == "data":
        return "DATA"
    if verb == "eod":
        return "END-OF-MESSAGE"
    if verb == "rset":
        return "RSET"
    if verb == "quit":
        return "QUIT"
    if verb == "etrn":
        return "ETRN %s" % w[1]
    if verb in ("auth", "auth-fail"):
        mech = w[2] if len(w) > 2 else "PLAIN"
        return "AUTH %s (as %s%s)" % (mech, w[1], ", wrong password" if verb == "auth-fail" else "")
    raise Skip("no header for %s" % verb)


def address_of(arg):
    m = re.match(r"^\s*<([^>]*)>(.*)$", arg)
    if not m:
        raise Skip("address without <>: %r" % arg)
    params = m.group(2).split()
    for p in params:
        if not p.upper().startswith(("SIZE=", "BODY=")):
            raise Skip("MAIL/RCPT parameter %s" % p)
    return m.group(1), params


def convert(sc, golden, sasl_users):
    if any(k in sc.main_cf for k in UNSUPPORTED_CONF):
        raise Skip("configuration uses what postern check does not model")
    script = []
    expected = []
    for sess, rec in zip(sc.sessions, golden["sessions"]):
        if sess.proxy:
            raise Skip("PROXY sessions")
        if "reject_unauth_pipelining" in sc.main_cf and \
                any(st.kind == "send" and not st.flush for st in sess.steps):
            raise Skip("pipelined commands with reject_unauth_pipelining")
        replies = rec["replies"]
        slot = 0
        closed = False

        def emit(line, reply_lines):
            nonlocal closed
            script.append(line)
            if closed:
                expected.append(line)
                expected.append("  [connection closed]")
                return
            expected.append(header_for(line))
            text = reply_lines[-1] if reply_lines else ""
            if text.startswith("[connection closed]"):
                raise Skip("the server closed the connection")
            if re.match(r"^250[- ]", text) and line.split()[0] in ("ehlo", "helo"):
                text = "250 " + reply_lines[0][4:]
            text = text.replace("queued as QUEUEID", "queued as (what-if)")
            expected.append("  " + text)
            if re.match(r"^(421|521) ", text) or line == "quit":
                closed = True

        # The connection itself, from the harness.
        real = {"ADDR": "127.0.0.1", "NAME": "localhost", "REVERSE_NAME": "localhost"}
        emit("client 127.0.0.1 localhost reverse=localhost", replies[slot]["reply"])
        slot += 1
        steps = list(sess.steps)
        i = 0
        while i < len(steps):
            st = steps[i]
            if st.kind != "send" and st.kind != "body":
                raise Skip("step %s" % st.kind)
            if st.kind == "body":
                reply = replies[slot]["reply"]
                slot += 1
                if reply == ["[not sent]"]:
                    i += 1
                    continue
                emit("eod", reply)
                i += 1
                continue
            line = st.line
            verb = line.split()[0].upper() if line.split() else ""
            if verb not in SUPPORTED_VERBS:
                raise Skip("command %s" % verb)
            reply = replies[slot]["reply"]
            slot += 1
            if reply and reply[0].startswith("[not played]"):
                break
            if verb == "XCLIENT":
                cl, real = xclient_line(line.split()[1:], real)
                emit(cl, reply)
            elif verb in ("EHLO", "HELO"):
                emit("%s %s" % (verb.lower(), line.split()[1]), reply)
            elif verb == "MAIL":
                m = re.match(r"(?i)^MAIL FROM:(.*)$", line)
                if not m:
                    raise Skip("MAIL syntax")
                addr, params = address_of(m.group(1))
                emit(" ".join(["mail", "<%s>" % addr] + params), reply)
            elif verb == "RCPT":
                m = re.match(r"(?i)^RCPT TO:(.*)$", line)
                if not m:
                    raise Skip("RCPT syntax")
                addr, params = address_of(m.group(1))
                if params:
                    raise Skip("RCPT parameters")
                emit("rcpt <%s>" % addr, reply)
            elif verb == "DATA":
                emit("data", reply)
            elif verb in ("RSET", "QUIT"):
                emit(verb.lower(), reply)
            elif verb == "ETRN":
                parts = line.split()
                if len(parts) != 2:
                    raise Skip("ETRN syntax")
                emit("etrn %s" % parts[1], reply)
            elif verb == "AUTH":
                import base64
                parts = line.split()
                if parts[1].upper() == "PLAIN" and len(parts) == 3:
                    user, pw = base64.b64decode(parts[2]).split(b"\0")[1:3]
                    mech = "PLAIN"
                elif parts[1].upper() == "LOGIN":
                    user = base64.b64decode(steps[i + 1].line)
                    pw = base64.b64decode(steps[i + 2].line)
                    mech = "LOGIN"
                    final = replies[slot + 1]["reply"]
                    slot += 2
                    i += 2
                    reply = final
                else:
                    raise Skip("AUTH form")
                user, pw = user.decode(), pw.decode()
                good = sasl_users.get(user) == pw
                emit("%s %s %s" % ("auth" if good else "auth-fail", user, mech), reply)
            i += 1
    return script, expected


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--compat", default=os.path.join(here, "..", "..", "shared", "compat"))
    ap.add_argument("--scenarios", help="folder of NAME.scn and NAME.golden.json "
                    "(default: COMPAT/scenarios)")
    ap.add_argument("--prefix", help="test name prefix (default: compat- for "
                    "COMPAT/scenarios, none for other folders)")
    ap.add_argument("--out", default=os.path.join(here, "..", "tests", "check"))
    ap.add_argument("names", nargs="*")
    args = ap.parse_args()
    shared = os.path.join(args.compat, "scenarios")
    scen_dir = args.scenarios or shared
    prefix = args.prefix
    if prefix is None:
        prefix = "compat-" if os.path.realpath(scen_dir) == os.path.realpath(shared) else ""
    sys.path.insert(0, os.path.join(args.compat, "lib"))
    import json
    import scenario
    base_zone = open(os.path.join(args.compat, "base", "dns.zone")).read()
    base_users = {}
    for line in open(os.path.join(args.compat, "base", "sasl_users")):
        line = line.strip()
        if line and not line.startswith("#"):
            u, _, p = line.partition(" ")
            base_users[u] = p.strip()
    names = sorted(f[:-4] for f in os.listdir(scen_dir) if f.endswith(".scn"))
    if args.names:
        names = [n for n in names if any(fnmatch.fnmatch(n, pat) for pat in args.names)]
    made = 0
    for name in names:
        path = os.path.join(scen_dir, name + ".scn")
        sc = scenario.load(path)
        gpath = os.path.join(scen_dir, name + ".golden.json")
        if not os.path.exists(gpath):
            print("skip %s: no golden (record it first)" % name)
            continue
        golden = json.load(open(gpath))
        if golden.get("scenario_sha256") != hashlib.sha256(open(path, "rb").read()).hexdigest():
            print("skip %s: stale golden (record it again)" % name)
            continue
        users = dict(base_users)
        users.update(dict(sc.sasl))
        try:
            script, expected = convert(sc, golden, users)
            dns = dns_script(base_zone, sc.dns)
        except Skip as e:
            print("skip %s: %s" % (name, e))
            continue
        with open(os.path.join(args.out, "%s%s.in" % (prefix, name)), "w") as f:
            f.write("# %s\n# From the compatibility scenario %s; the expected replies are "
                    "Postfix 3.7's.\n" % (sc.description, name))
            f.write("=== main.cf\n" + sc.main_cf.rstrip("\n") + "\n")
            for ttype, tname, text in sc.tables:
                kind = "file " + tname if ttype == "file" else "table %s:%s" % (ttype, tname)
                f.write("=== %s\n%s" % (kind, text if text.endswith("\n") or not text else text + "\n"))
            f.write("=== script\n")
            for line in dns:
                f.write(line + "\n")
            for line in script:
                f.write(line + "\n")
        with open(os.path.join(args.out, "%s%s.out" % (prefix, name)), "w") as f:
            f.write("\n".join(expected) + "\n")
        made += 1
    print("%d engine tests written" % made)


if __name__ == "__main__":
    main()
