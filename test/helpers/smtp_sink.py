#!/usr/bin/env python3
"""A local SMTP sink for the alert tests: speaks enough SMTP (EHLO, AUTH PLAIN/LOGIN, MAIL,
RCPT, DATA, QUIT) to accept a message, and appends each message, with its envelope and the
user who authenticated, to a file."""
import base64
import socketserver
import sys

port, out_path = int(sys.argv[1]), sys.argv[2]


class Session(socketserver.StreamRequestHandler):
    def reply(self, line):
        self.wfile.write((line + "\r\n").encode())

    def handle(self):
        self.reply("220 sink ESMTP")
        sender, rcpts, user = "", [], ""
        while True:
            line = self.rfile.readline().decode("utf-8", "replace").rstrip("\r\n")
            if not line:
                return
            verb = line.split(" ")[0].upper()
            if verb in ("EHLO", "HELO"):
                self.wfile.write(b"250-sink\r\n250 AUTH PLAIN LOGIN\r\n")
            elif verb == "AUTH":
                parts = line.split(" ")
                if parts[1].upper() == "PLAIN":
                    blob = parts[2] if len(parts) > 2 else None
                    if blob is None:
                        self.reply("334 ")
                        blob = self.rfile.readline().decode().strip()
                    user = base64.b64decode(blob).split(b"\0")[1].decode()
                else:
                    self.reply("334 VXNlcm5hbWU6")
                    user = base64.b64decode(self.rfile.readline().strip()).decode()
                    self.reply("334 UGFzc3dvcmQ6")
                    self.rfile.readline()
                self.reply("235 ok")
            elif verb == "MAIL":
                sender = line[line.index(":") + 1:].strip()
                self.reply("250 ok")
            elif verb == "RCPT":
                rcpts.append(line[line.index(":") + 1:].strip())
                self.reply("250 ok")
            elif verb == "DATA":
                self.reply("354 go on")
                data = []
                while True:
                    l = self.rfile.readline().decode("utf-8", "replace")
                    if l.rstrip("\r\n") == ".":
                        break
                    data.append(l)
                with open(out_path, "a") as out:
                    out.write("FROM %s TO %s USER %s\n%s\n----\n" % (sender, ",".join(rcpts), user, "".join(data)))
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


socketserver.TCPServer.allow_reuse_address = True
socketserver.TCPServer(("127.0.0.1", port), Session).serve_forever()
