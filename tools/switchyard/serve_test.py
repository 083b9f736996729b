#!/usr/bin/python3
"""`switchyard serve` against real clients on a real socket: Debian's AWS CLI (/usr/bin/aws) and
raw PutEvents requests (http.client, the same JSON the CLI sends).

Usage: serve_test.py <path to the switchyard tool>

1. Writes a rules file (comments, a blank line, a pattern given as text), starts
   `switchyard serve --port 0`, reads the port from stderr.
2. `aws events put-events` with entries that match one rule, two rules, none, and one the bus
   refuses: stdout must hold exactly one {"rule", "event"} line per (rule, EventId the CLI got
   back), each event whole (envelope and the detail as sent), and nothing for the others.
3. `aws events test-event-pattern`: true, false, and an invalid pattern refused as EventBridge does.
4. Several threads post batches while SIGTERM arrives: exit 0, every EventId a client was given
   is on stdout exactly once, every line is whole JSON (no interleaving), and stdout holds as many
   events as the server says it accepted (minus the one that matched no rule).
5. `--bus orders` and SIGINT: entries naming the bus are delivered, another bus name is refused.
6. stdout's reader goes away: the next delivery cannot be written, serve is not killed by
   SIGPIPE mid-request; the client still gets its reply and serve stops gracefully (exit 0).

Exits 77 (CTest: skipped) when /usr/bin/aws is missing.
"""

import http.client
import json
import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

SKIP = 77
AWS = "/usr/bin/aws"
REGION = "us-east-1"
WAIT = 30  # seconds: the longest any single wait may take before the test fails

failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what, flush=True)
    if not condition:
        failures.append(what)
    return condition


class Serve:
    """`switchyard serve` as a child: its port, its stdout lines as they come, its exit."""

    def __init__(self, tool, rules, *extra):
        self.process = subprocess.Popen([tool, "serve", "--port", "0", "--rules", rules, *extra],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8")
        self.stdout = queue.Queue()
        self.stderr = queue.Queue()
        self.stderr_text = []
        self.readers = [threading.Thread(target=self._read, args=(self.process.stdout, self.stdout), daemon=True),
                        threading.Thread(target=self._read, args=(self.process.stderr, self.stderr), daemon=True)]
        for reader in self.readers:
            reader.start()
        self.port = None
        try:
            deadline = time.monotonic() + WAIT
            while self.port is None:
                line = self.stderr.get(timeout=max(0.0, deadline - time.monotonic()))
                if line is None:
                    raise RuntimeError(f"switchyard serve ended before listening: {self.stderr_text}")
                self.stderr_text.append(line)
                match = re.match(r"listening on http://127\.0\.0\.1:(\d+)", line)
                if match:
                    self.port = int(match.group(1))
        except BaseException:
            self.kill()
            raise
        self.url = f"http://127.0.0.1:{self.port}"

    @staticmethod
    def _read(pipe, lines):
        for line in pipe:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    def read_lines(self, count):
        """The next `count` stdout lines, or fewer if WAIT seconds pass (or stdout ends) first."""
        lines = []
        deadline = time.monotonic() + WAIT
        while len(lines) < count:
            try:
                line = self.stdout.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                self.stdout.put(None)  # stays ended for the next reader
                break
            lines.append(line)
        return lines

    def stop(self, signal_number):
        """Sends the signal; the exit code, the rest of stdout and all of stderr."""
        self.process.send_signal(signal_number)
        code = self.process.wait(timeout=WAIT)
        for reader in self.readers:
            reader.join(timeout=WAIT)
        rest = []
        while (line := self.stdout.get(timeout=WAIT)) is not None:
            rest.append(line)
        while (line := self.stderr.get(timeout=WAIT)) is not None:
            self.stderr_text.append(line)
        return code, rest, self.stderr_text

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def clean_environment(home):
    """Dummy credentials and nothing of the host's AWS profile, config or endpoint."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(HOME=home, AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="not-checked-by-serve",
               AWS_DEFAULT_REGION=REGION, AWS_CONFIG_FILE=os.path.join(home, "no-config"),
               AWS_SHARED_CREDENTIALS_FILE=os.path.join(home, "no-credentials"), AWS_EC2_METADATA_DISABLED="true",
               AWS_MAX_ATTEMPTS="1", AWS_PAGER="")
    return env


def run_cli(server, env, *args):
    command = [AWS, "events", *args, "--endpoint-url", server.url, "--region", REGION, "--output", "json"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    output = json.loads(result.stdout) if result.returncode == 0 and result.stdout.strip() else None
    return result.returncode, output, result.stderr


def parse_lines(lines, what):
    """(rule, event) per stdout line; every line must be exactly {"rule", "event"}."""
    parsed, bad = [], []
    for line in lines:
        try:
            value = json.loads(line)
        except ValueError:
            value = None
        if isinstance(value, dict) and set(value) == {"rule", "event"} and isinstance(value["event"], dict):
            parsed.append((value["rule"], value["event"]))
        else:
            bad.append(line[:200])
    check(not bad, f"stdout ({what}): {len(lines)} lines, each one JSON object {{rule, event}} ({len(bad)} not, e.g. {bad[:2]})")
    return parsed


RULES = """# rules for serve_test.py: one a line; comments and blank lines are skipped
{"name": "fraud", "pattern": {"source": ["com.example.cards"], "detail": {"amount": [{"numeric": [">", 1000]}]}}}

{"name": "all-cards", "pattern": {"source": ["com.example.cards"]}}
{"name": "refunds", "pattern": "{\\"detail-type\\": [\\"Refund\\"]}"}
"""

BIG = {"amount": 2500, "currency": "EUR", "merchant": "Caf\u00e9 Z\u00fcrich", "customer_id": "c-1", "card": {"country": "CH"}}
# Sent as multi-line text: the bus keeps a Detail's text, and serve must still print one line.
SMALL_TEXT = '{\n  "amount": 12.5,\n  "currency": "USD",\n  "note": "two\\nlines"\n}'
REFUND = {"amount": 3, "order": "o-9"}


def aws_cli_phase(server, env):
    entries = [
        {"Source": "com.example.cards", "DetailType": "Transaction", "Detail": json.dumps(BIG),
         "Resources": ["arn:aws:cards:::card/1"], "Time": "2024-05-01T12:00:00Z"},
        {"Source": "com.example.cards", "DetailType": "Transaction", "Detail": SMALL_TEXT},
        {"Source": "com.example.payments", "DetailType": "Refund", "Detail": json.dumps(REFUND)},
        {"Source": "com.example.other", "DetailType": "Other", "Detail": "{}"},  # matches no rule
        {"Source": "com.example.cards", "DetailType": "Transaction", "Detail": "not json"},  # refused
    ]
    rc, out, err = run_cli(server, env, "put-events", "--entries", json.dumps(entries))
    if not check(rc == 0 and out is not None, f"aws events put-events answered (rc {rc}, {err.strip()})"):
        return None, set()
    results = out["Entries"]
    check(out["FailedEntryCount"] == 1 and len(results) == 5, f"put-events: 4 accepted, 1 failed: {out}")
    check(results[4].get("ErrorCode") == "MalformedDetail", f"put-events: a detail that is not JSON is MalformedDetail: {results[4]}")
    ids = [r.get("EventId") for r in results]
    if not check(all(ids[:4]), f"put-events: EventIds for the first four: {results}"):
        return None, set()

    want = {("fraud", ids[0]), ("all-cards", ids[0]), ("all-cards", ids[1]), ("refunds", ids[2])}
    lines = parse_lines(server.read_lines(len(want)), "aws put-events")
    got = {(rule, event.get("id")) for rule, event in lines}
    check(got == want and len(lines) == len(want), f"stdout: one line per (rule, EventId): got {sorted(got)}, want {sorted(want)}")

    events = {event.get("id"): event for _, event in lines}
    big = events.get(ids[0], {})
    check(big.get("source") == "com.example.cards" and big.get("detail-type") == "Transaction" and big.get("version") == "0",
          f"stdout: the envelope as EventBridge writes it: {big}")
    check(big.get("detail") == BIG, f"stdout: the detail as sent, non-ASCII included: {big.get('detail')}")
    check(big.get("time") == "2024-05-01T12:00:00Z" and big.get("resources") == ["arn:aws:cards:::card/1"],
          f"stdout: Time and Resources from the entry: {big}")
    check(all(k in big for k in ("account", "region")), f"stdout: account and region present: {big}")
    check(events.get(ids[1], {}).get("detail") == json.loads(SMALL_TEXT),
          f"stdout: a multi-line Detail printed on one line, intact: {events.get(ids[1])}")
    check(events.get(ids[2], {}).get("detail") == REFUND, f"stdout: a rule whose pattern was given as text: {events.get(ids[2])}")
    return ids, want


def test_event_pattern_phase(server, env):
    event = json.dumps({"id": "1", "account": "123456789012", "source": "com.example.cards", "time": "2024-05-01T12:00:00Z",
                        "region": REGION, "resources": [], "detail-type": "Transaction", "detail": {"amount": 2500}})
    pattern = json.dumps({"detail": {"amount": [{"numeric": [">", 1000]}]}})
    rc, out, err = run_cli(server, env, "test-event-pattern", "--event-pattern", pattern, "--event", event)
    check(rc == 0 and out == {"Result": True}, f"aws events test-event-pattern: true (rc {rc}, {out}, {err.strip()})")
    pattern = json.dumps({"detail": {"amount": [{"numeric": ["<", 1000]}]}})
    rc, out, err = run_cli(server, env, "test-event-pattern", "--event-pattern", pattern, "--event", event)
    check(rc == 0 and out == {"Result": False}, f"aws test-event-pattern: false (rc {rc}, {out}, {err.strip()})")
    rc, out, err = run_cli(server, env, "test-event-pattern", "--event-pattern", '{"source": "not a list"}', "--event", event)
    check(rc != 0 and "InvalidEventPatternException" in err, f"aws test-event-pattern: invalid pattern refused (rc {rc}, {err.strip()})")


def post_until_refused(port, thread, given, stop):
    """Posts 10-entry batches until the server stops answering; records the EventIds it was given."""
    pad = "x" * 2000  # long lines: any interleaving of two writes would break a line's JSON
    n = 0
    deadline = time.monotonic() + WAIT
    while not stop.is_set() and time.monotonic() < deadline:
        entries = [{"Source": "com.example.cards", "DetailType": "Load", "Detail": json.dumps({"thread": thread, "n": n + i, "pad": pad})}
                   for i in range(10)]
        n += 10
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT)
            connection.request("POST", "/", body=json.dumps({"Entries": entries}),
                               headers={"X-Amz-Target": "AWSEvents.PutEvents", "Content-Type": "application/x-amz-json-1.1"})
            response = connection.getresponse()
            body = response.read()
            connection.close()
        except (OSError, http.client.HTTPException):
            return  # stopped: refused, reset or closed
        if response.status != 200:
            given.put(("error", response.status, body[:200]))
            return
        for entry in json.loads(body)["Entries"]:
            given.put(("id", entry["EventId"]) if "EventId" in entry else ("error", 200, entry))


def shutdown_phase(server, phase_a):
    given = queue.Queue()
    stop = threading.Event()
    threads = [threading.Thread(target=post_until_refused, args=(server.port, t, given, stop)) for t in range(4)]
    for t in threads:
        t.start()
    # SIGTERM while the clients are still posting, once each has had time to get answers.
    ids = []
    deadline = time.monotonic() + WAIT
    while len(ids) < 200 and time.monotonic() < deadline:
        try:
            item = given.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        ids.append(item)
    code, rest, stderr = server.stop(signal.SIGTERM)
    stop.set()
    for t in threads:
        t.join(timeout=WAIT)
    check(not any(t.is_alive() for t in threads), "the posting clients ended after SIGTERM")
    while not given.empty():
        ids.append(given.get())
    errors = [item for item in ids if item[0] != "id"]
    ids = [item[1] for item in ids if item[0] == "id"]
    check(code == 0, f"SIGTERM: exit code 0 (got {code}; stderr {stderr})")
    check(not errors, f"load: no request or entry refused before the stop: {errors[:3]}")
    check(len(ids) >= 200, f"load: clients were given EventIds ({len(ids)}) before and during the stop")

    lines = parse_lines(rest, "load and stop")
    pairs = [(rule, event.get("id")) for rule, event in lines]
    check(len(pairs) == len(set(pairs)), "stdout: no delivery printed twice")
    printed = set(pairs) | phase_a
    missing = [i for i in ids if ("all-cards", i) not in printed]
    check(not missing, f"stdout: every EventId a client was given is there ({len(missing)} missing, e.g. {missing[:3]})")
    intact = all(event.get("detail", {}).get("pad") == "x" * 2000 for rule, event in lines)
    check(intact, "stdout: every load event's detail is whole")
    summary = [line for line in stderr if line.startswith("SIGTERM: stopped after")]
    if check(len(summary) == 1, f"stderr: the stop is reported: {stderr}"):
        accepted = int(re.search(r"(\d+) entries accepted", summary[0]).group(1))
        # Phase A's entries plus the load; one of phase A's matched no rule, so printed nothing.
        events_printed = len({i for _, i in printed})
        check(events_printed == accepted - 1,
              f"stdout: an event per accepted entry, clients cut off included ({events_printed} printed, {accepted} accepted)")


def named_bus_phase(tool, rules, env):
    server = Serve(tool, rules, "--bus", "orders")
    try:
        entries = [{"Source": "com.example.payments", "DetailType": "Refund", "Detail": "{}", "EventBusName": "orders"},
                   {"Source": "com.example.payments", "DetailType": "Refund", "Detail": "{}", "EventBusName": "nope"}]
        rc, out, err = run_cli(server, env, "put-events", "--entries", json.dumps(entries))
        if check(rc == 0 and out is not None, f"--bus orders: put-events answered (rc {rc}, {err.strip()})"):
            check(out["FailedEntryCount"] == 1 and out["Entries"][1].get("ErrorCode") == "ResourceNotFoundException",
                  f"--bus orders: another bus name is ResourceNotFoundException: {out}")
        code, rest, stderr = server.stop(signal.SIGINT)
        check(code == 0, f"SIGINT: exit code 0 (got {code}; stderr {stderr})")
        check(any(line.startswith("SIGINT: stopped") for line in stderr), f"SIGINT: the stop is reported: {stderr}")
        if out is not None:
            got = [(rule, event.get("id")) for rule, event in parse_lines(rest, "--bus orders")]
            check(got == [("refunds", out["Entries"][0].get("EventId"))], f"--bus orders: the entry naming it delivered: {got}")
    finally:
        server.kill()


def reader_gone_phase(tool, rules):
    # Regression: with nothing ignoring SIGPIPE, the first write after the reader left killed
    # serve in the middle of the request, and the client got no reply.
    server = subprocess.Popen([tool, "serve", "--port", "0", "--rules", rules], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        first = server.stderr.readline().decode()
        port = re.search(r"127\.0\.0\.1:(\d+)", first)
        if not check(port is not None, f"reader gone: serve printed its port: {first!r}"):
            return
        server.stdout.close()
        connection = http.client.HTTPConnection("127.0.0.1", int(port.group(1)), timeout=WAIT)
        body = json.dumps({"Entries": [{"Source": "com.example.payments", "DetailType": "Refund", "Detail": "{}"}]})
        connection.request("POST", "/", body, {"X-Amz-Target": "AWSEvents.PutEvents", "Content-Type": "application/x-amz-json-1.1"})
        reply = connection.getresponse()
        answer = json.loads(reply.read())
        check(reply.status == 200 and answer["Entries"][0].get("EventId"), f"reader gone: the client got its reply: {answer}")
        code = server.wait(timeout=WAIT)
        stderr = server.stderr.read().decode()
        check(code == 0, f"reader gone: serve stopped by itself with exit code 0 (got {code}; stderr {stderr})")
        check("cannot write the event to stdout" in stderr and "SIGTERM: stopped" in stderr,
              f"reader gone: the failed delivery and the stop are reported: {stderr}")
    except (OSError, subprocess.TimeoutExpired, ValueError, KeyError) as e:
        check(False, f"reader gone: {e!r}")
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    if not os.access(AWS, os.X_OK):
        print(f"SKIPPED: {AWS} (Debian's awscli) is not installed")
        return SKIP
    tool = sys.argv[1]
    with tempfile.TemporaryDirectory() as home:
        rules = os.path.join(home, "rules.jsonl")
        with open(rules, "w", encoding="utf-8") as f:
            f.write(RULES)
        env = clean_environment(home)
        server = Serve(tool, rules)
        try:
            _, phase_a = aws_cli_phase(server, env)
            test_event_pattern_phase(server, env)
            shutdown_phase(server, phase_a)
        finally:
            server.kill()
        named_bus_phase(tool, rules, env)
        reader_gone_phase(tool, rules)
    print(f"{len(failures)} failure(s)" if failures else "all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
