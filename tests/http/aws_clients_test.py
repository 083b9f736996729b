#!/usr/bin/python3
"""The AWS CLI and boto3 against switchyard's PutEvents ingress (ingress_server).

Usage: aws_clients_test.py <path to ingress_server>

Starts the server (SigV4 with AWS's example key pair AKIDEXAMPLE, buses "orders" (the default)
and "audit"), runs Debian's AWS CLI (/usr/bin/aws) and boto3 against it with real signatures,
checks every response, then closes the server's stdin and checks its summary: every EventId a
client was given was delivered exactly once, and nothing else was. Exits 77 (CTest: skipped)
when /usr/bin/aws or boto3 is missing.
"""

import collections
import datetime
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading

SKIP = 77
AWS = "/usr/bin/aws"
ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REGION = "us-east-1"
W3C_TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what, flush=True)
    if not condition:
        failures.append(what)
    return condition


class Server:
    """ingress_server as a child: its port, and its summary once stdin closes."""

    def __init__(self, path):
        self.process = subprocess.Popen([path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.lines = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        line = self.lines.get(timeout=30)
        if not line or not line.startswith("PORT "):
            raise RuntimeError(f"ingress_server said {line!r} instead of PORT <n>")
        self.port = int(line.split()[1])
        self.url = f"http://127.0.0.1:{self.port}"

    def _read(self):
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def finish(self):
        self.process.stdin.close()
        summary = None
        while True:
            line = self.lines.get(timeout=60)
            if line is None:
                break
            if line.startswith("SUMMARY "):
                summary = json.loads(line[len("SUMMARY "):])
        self.process.wait(timeout=30)
        self.reader.join(timeout=30)
        return self.process.returncode, summary

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def clean_environment(home, secret=SECRET_KEY):
    """An environment with only the test's credentials: no profile, config or endpoint of the host's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        HOME=home,
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=secret,
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=os.path.join(home, "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=os.path.join(home, "no-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        AWS_MAX_ATTEMPTS="1",
        AWS_PAGER="",
    )
    return env


def run_cli(server, env, *args):
    command = [AWS, "events", *args, "--endpoint-url", server.url, "--region", REGION, "--output", "json"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    output = json.loads(result.stdout) if result.returncode == 0 and result.stdout.strip() else None
    return result.returncode, output, result.stderr


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    if not os.access(AWS, os.X_OK):
        print(f"SKIPPED: {AWS} (Debian's awscli) is not installed")
        return SKIP
    try:
        import boto3
        import botocore.config
        import botocore.exceptions
    except ImportError:
        print("SKIPPED: boto3 is not installed for /usr/bin/python3 (Debian: python3-boto3)")
        return SKIP

    expected = collections.Counter()  # "bus|source|detail-type" -> deliveries owed
    given_ids = []

    def accepted(response, bus, source, detail_type, count):
        ids = [e["EventId"] for e in response["Entries"] if "EventId" in e]
        given_ids.extend(ids)
        expected[f"{bus}|{source}|{detail_type}"] += count

    server = Server(sys.argv[1])
    try:
        with tempfile.TemporaryDirectory() as home:
            env = clean_environment(home)

            # --- the AWS CLI -------------------------------------------------------------------
            entries = [
                {"Source": "cli.test", "DetailType": "CliEvent", "Detail": json.dumps({"n": 1}), "Time": "2024-05-01T12:00:00Z",
                 "Resources": ["arn:aws:s3:::bucket"]},
                {"Source": "cli.test", "DetailType": "CliEvent", "Detail": json.dumps({"n": 2}), "EventBusName": "audit"},
            ]
            rc, out, err = run_cli(server, env, "put-events", "--entries", json.dumps(entries))
            if check(rc == 0 and out is not None, f"aws events put-events: 2 entries accepted (rc {rc}, {err.strip()})"):
                check(out["FailedEntryCount"] == 0 and len(out["Entries"]) == 2, f"aws put-events: both have EventIds: {out}")
                given_ids.extend(e["EventId"] for e in out["Entries"] if "EventId" in e)
                expected["orders|cli.test|CliEvent"] += 1
                expected["audit|cli.test|CliEvent"] += 1

            entries = [
                {"Source": "cli.test", "DetailType": "Lost", "Detail": "{}", "EventBusName": "no-such-bus"},
                {"Source": "cli.test", "DetailType": "ByArn", "Detail": "{}",
                 "EventBusName": f"arn:aws:events:{REGION}:123456789012:event-bus/audit"},
            ]
            rc, out, err = run_cli(server, env, "put-events", "--entries", json.dumps(entries))
            if check(rc == 0 and out is not None, f"aws put-events: an unknown bus fails its entry only (rc {rc}, {err.strip()})"):
                check(out["FailedEntryCount"] == 1, f"aws put-events: FailedEntryCount 1: {out}")
                check(out["Entries"][0].get("ErrorCode") == "ResourceNotFoundException", f"aws put-events: ResourceNotFoundException: {out}")
                check("EventId" in out["Entries"][1], f"aws put-events: the bus named by ARN took its entry: {out}")
                given_ids.extend(e["EventId"] for e in out["Entries"] if "EventId" in e)
                expected["audit|cli.test|ByArn"] += 1

            event = json.dumps({"id": "1", "account": "123456789012", "source": "cli.test", "time": "2024-05-01T12:00:00Z",
                                "region": REGION, "resources": [], "detail-type": "CliEvent", "detail": {"n": 5}})
            rc, out, err = run_cli(server, env, "test-event-pattern", "--event-pattern",
                                   json.dumps({"source": ["cli.test"], "detail": {"n": [{"numeric": [">", 3]}]}}), "--event", event)
            check(rc == 0 and out == {"Result": True}, f"aws events test-event-pattern: a match (rc {rc}, {out}, {err.strip()})")
            rc, out, err = run_cli(server, env, "test-event-pattern", "--event-pattern", json.dumps({"source": ["other"]}),
                                   "--event", event)
            check(rc == 0 and out == {"Result": False}, f"aws test-event-pattern: no match (rc {rc}, {out}, {err.strip()})")
            rc, out, err = run_cli(server, env, "test-event-pattern", "--event-pattern", '{"source": "not a list"}', "--event", event)
            check(rc != 0 and "InvalidEventPatternException" in err, f"aws test-event-pattern: invalid pattern refused (rc {rc}, {err.strip()})")

            wrong = clean_environment(home, secret="not-the-secret")
            rc, out, err = run_cli(server, wrong, "put-events", "--entries",
                                   json.dumps([{"Source": "cli.test", "DetailType": "Forged", "Detail": "{}"}]))
            check(rc != 0 and "InvalidSignatureException" in err, f"aws put-events with a wrong secret: refused (rc {rc}, {err.strip()})")
            rc, out, err = run_cli(server, env, "put-events", "--no-sign-request", "--entries",
                                   json.dumps([{"Source": "cli.test", "DetailType": "Unsigned", "Detail": "{}"}]))
            check(rc != 0 and "MissingAuthenticationToken" in err, f"aws put-events unsigned: refused (rc {rc}, {err.strip()})")

            # --- boto3 -------------------------------------------------------------------------
            def events_client(secret=SECRET_KEY):
                return boto3.session.Session().client(
                    "events", endpoint_url=server.url, region_name=REGION, aws_access_key_id=ACCESS_KEY,
                    aws_secret_access_key=secret, config=botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"}))

            events = events_client()
            when = datetime.datetime(2024, 5, 1, 12, 0, 0, 250000, tzinfo=datetime.timezone.utc)  # sent as 1714564800.25
            ten = [{"Source": "boto3.test", "DetailType": "Batch", "Detail": json.dumps({"i": i}), "Time": when,
                    "Resources": [f"arn:aws:s3:::bucket/{i}"]} for i in range(10)]
            ten[3]["TraceHeader"] = W3C_TRACEPARENT
            ten[4]["TraceHeader"] = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
            response = events.put_events(Entries=ten)
            check(response["FailedEntryCount"] == 0 and len(response["Entries"]) == 10,
                  f"boto3 put_events: 10 entries accepted: {response['Entries']}")
            check(response["ResponseMetadata"]["HTTPStatusCode"] == 200, "boto3 put_events: HTTP 200")
            accepted(response, "orders", "boto3.test", "Batch", 10)

            try:
                events.put_events(Entries=ten + [ten[0]])
                check(False, "boto3 put_events: 11 entries refused")
            except botocore.exceptions.ClientError as e:
                error = e.response["Error"]
                check(error["Code"] == "ValidationException" and "less than or equal to 10" in error["Message"],
                      f"boto3 put_events: 11 entries refused with ValidationException: {error}")
                check(e.response["ResponseMetadata"]["HTTPStatusCode"] == 400, "boto3 put_events: 11 entries -> HTTP 400")

            five = [{"Source": "boto3.test", "DetailType": "Mixed", "Detail": json.dumps({"i": i})} for i in range(5)]
            five[2]["Detail"] = '{"i": 2,'
            response = events.put_events(Entries=five)
            check(response["FailedEntryCount"] == 1, f"boto3 put_events: one bad Detail fails alone: {response['Entries']}")
            check(response["Entries"][2].get("ErrorCode") == "MalformedDetail", f"boto3: MalformedDetail: {response['Entries'][2]}")
            check(all("EventId" in response["Entries"][i] for i in (0, 1, 3, 4)), "boto3: the four others have EventIds")
            accepted(response, "orders", "boto3.test", "Mixed", 4)

            response = events.put_events(Entries=[{"Source": "boto3.test", "DetailType": "Audit", "Detail": "{}", "EventBusName": "audit"}])
            check(response["FailedEntryCount"] == 0, "boto3 put_events to the audit bus by name")
            accepted(response, "audit", "boto3.test", "Audit", 1)

            response = events.test_event_pattern(EventPattern=json.dumps({"source": ["cli.test"]}), Event=event)
            check(response["Result"] is True, "boto3 test_event_pattern: a match")
            try:
                events.test_event_pattern(EventPattern='{"detail": {"n": [{"numeric": ["~", 1]}]}}', Event=event)
                check(False, "boto3 test_event_pattern: an invalid pattern raises")
            except botocore.exceptions.ClientError as e:
                check(e.response["Error"]["Code"] == "InvalidEventPatternException",
                      f"boto3 test_event_pattern: InvalidEventPatternException: {e.response['Error']}")

            try:
                events_client(secret="not-the-secret").put_events(Entries=[{"Source": "boto3.test", "DetailType": "Forged", "Detail": "{}"}])
                check(False, "boto3 put_events with a wrong secret raises")
            except botocore.exceptions.ClientError as e:
                check(e.response["Error"]["Code"] == "InvalidSignatureException",
                      f"boto3 put_events with a wrong secret: InvalidSignatureException: {e.response['Error']}")

        # --- what the server delivered -----------------------------------------------------------
        rc, summary = server.finish()
        check(rc == 0 and summary is not None, f"ingress_server stopped and summarised (rc {rc})")
        if summary is not None:
            check(summary["clean_stop"], "the ingress stopped with nothing cut off")
            check(dict(summary["delivered"]) == dict(expected),
                  f"delivered by bus|source|detail-type: {summary['delivered']} (expected {dict(expected)})")
            delivered = summary["ids"]
            check(len(delivered) == len(set(delivered)), "no event delivered twice")
            check(set(delivered) == set(given_ids) and len(given_ids) == len(set(given_ids)),
                  f"every EventId given was delivered, and nothing else ({len(given_ids)} given, {len(delivered)} delivered)")
            check(summary["stats"]["entries_accepted"] == len(given_ids), f"ingress statistics: {summary['stats']}")
    finally:
        server.kill()

    if failures:
        print(f"{len(failures)} check(s) failed", flush=True)
        return 1
    print("all checks passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
