#!/usr/bin/env python3
"""A local HTTP receiver for the alert tests: records every request as one JSON line
(method, path, headers, body) and answers with the status given (or never, with 'hang')."""
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

port, log_path, answer = int(sys.argv[1]), sys.argv[2], sys.argv[3]


class Handler(BaseHTTPRequestHandler):
    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace")
        with open(log_path, "a") as log:
            log.write(json.dumps({"method": self.command, "path": self.path,
                                  "type": self.headers.get("Content-Type"), "body": body}) + "\n")
        if answer == "hang":
            time.sleep(60)
        self.send_response(int(answer) if answer.isdigit() else 200)
        self.end_headers()

    do_GET = do_POST = do_HEAD = handle_any

    def log_message(self, *args):
        pass


HTTPServer(("127.0.0.1", port), Handler).serve_forever()
