"""Static server for dist/ on 127.0.0.1 (development only).

Serves files with the MIME types browsers insist on (application/wasm for streaming
compilation, text/javascript for modules) and no caching, so a rebuild shows at once.
Like GitHub Pages it sends no COOP/COEP headers unless --isolated is given: the site's
service worker is what makes the threaded build usable on static hosting.
"""
import argparse
import functools
import http.server
import os
import sys

TYPES = {
    ".wasm": "application/wasm",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".bin": "application/octet-stream",
    ".md": "text/plain; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **TYPES}
    isolated = False

    def end_headers(self):
        self.send_header("Cache-Control", "no-cache")
        if self.isolated:
            self.send_header("Cross-Origin-Opener-Policy", "same-origin")
            self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        super().end_headers()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default="dist")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--isolated", action="store_true",
                    help="send COOP/COEP headers (cross-origin isolation without the service worker)")
    args = ap.parse_args()
    if not os.path.isfile(os.path.join(args.dir, "index.html")):
        sys.exit(f"serve.py: {args.dir}/index.html not found; run ./build.sh first")
    Handler.isolated = args.isolated
    handler = functools.partial(Handler, directory=args.dir)
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    except (OSError, OverflowError) as e:
        sys.exit(f"serve.py: cannot listen on 127.0.0.1:{args.port} ({e}); "
                 "another port: ./build.sh serve 8001")
    print(f"Serving {os.path.abspath(args.dir)} at http://127.0.0.1:{server.server_port}/ "
          "(Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
