#!/usr/bin/env python3
"""The sample CRM's backend, for the demo (scripts/demo).

It serves the sample pages, and `POST /host/token` makes a host token for the
CRM's signed-in user the way a host's backend does: it asks the broker
(`POST /api/v1/embed/tokens`) with the tenant's API key, which never reaches a
browser. `{"tamper": true}` spoils the token's signature, to show what the
embedded app sees then. Only the CRM page's own origin may ask.

    host_backend.py --port 8081 --dir data/demo-crm --broker http://127.0.0.1:8080 \\
        --api-key-file data/demo-host.key --crm-origin http://localhost:8081
"""

import argparse
import functools
import http.server
import json
import urllib.error
import urllib.request

# The CRM's signed-in user, as the host knows them.
USER = {"sub": "dana", "name": "Dana Demo"}


class Handler(http.server.SimpleHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (the standard library's name)
        if self.path != "/host/token":
            self.send_error(404)
            return
        if self.headers.get("Origin") != self.server.crm_origin:
            self.send_error(403, "only the sample CRM page may ask for a token")
            return
        length = min(int(self.headers.get("Content-Length") or 0), 4096)
        try:
            ask = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self.reply(400, {"error": "the body is not JSON"})
            return
        request = urllib.request.Request(
            f"{self.server.broker}/api/v1/embed/tokens",
            data=json.dumps(USER).encode(),
            method="POST",
            headers={
                "authorization": f"Bearer {self.server.api_key}",
                "content-type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                token = json.load(answer)["token"]
        except urllib.error.HTTPError as refused:
            self.reply(502, {"error": f"the broker refused to mint: HTTP {refused.code}"})
            return
        except (urllib.error.URLError, OSError, KeyError, ValueError) as failed:
            self.reply(502, {"error": f"the broker could not be asked: {failed}"})
            return
        if ask.get("tamper"):
            head, _, signature = token.rpartition(".")
            token = f"{head}.{'A' if signature[:1] != 'A' else 'B'}{signature[1:]}"
        self.reply(200, {"token": token})

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("cache-control", "no-store")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--dir", required=True)
    parser.add_argument("--broker", required=True)
    parser.add_argument("--api-key-file", required=True)
    parser.add_argument("--crm-origin", required=True)
    args = parser.parse_args()
    with open(args.api_key_file, encoding="utf-8") as f:
        api_key = f.read().strip()
    handler = functools.partial(Handler, directory=args.dir)
    server = http.server.ThreadingHTTPServer((args.bind, args.port), handler)
    server.broker = args.broker.rstrip("/")
    server.api_key = api_key
    server.crm_origin = args.crm_origin
    server.serve_forever()


if __name__ == "__main__":
    main()
