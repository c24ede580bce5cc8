"""A stand-in OTLP/HTTP collector for the tests: accepts POST /v1/traces (and the other signals)
and writes each body to <directory>/<n>.bin, answering 200 with an empty export response. Once it
listens it writes its port to <directory>/ready (port 0 lets the system choose one), so that a test starts the exporting process only then (an
exporter whose first batch meets a closed port retries it with back-off, holding later batches)."""
import http.server
import os
import sys
import threading

directory, port = sys.argv[1], int(sys.argv[2])
os.makedirs(directory, exist_ok=True)
counter = iter(range(1, 1_000_000))
lock = threading.Lock()


class Capture(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with lock:
            name = os.path.join(directory, f"{next(counter)}-{self.path.strip('/').replace('/', '_')}.bin")
        with open(name + ".tmp", "wb") as f:
            f.write(body)
        os.rename(name + ".tmp", name)
        self.send_response(200)
        self.send_header("Content-Type", self.headers.get("Content-Type", "application/x-protobuf"))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Capture)
with open(os.path.join(directory, "ready.tmp"), "w") as f:
    f.write(str(server.server_address[1]))
os.rename(os.path.join(directory, "ready.tmp"), os.path.join(directory, "ready"))
server.serve_forever()
