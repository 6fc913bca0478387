#!/usr/bin/env python3
"""A TLS terminator for the client's TLS tests while they run against a
plain duplexd: TLS on LISTEN_HOST:HTTP_PORT relayed to UPSTREAM_HTTP, and
TLS on LISTEN_HOST:TCP_PORT (the raw TCP port duplexd announces, so the
client finds it) relayed to UPSTREAM_HOST:TCP_PORT.

usage: tls-relay.py CERT KEY LISTEN_HOST HTTP_PORT(0=any) UPSTREAM_HTTP
                    UPSTREAM_HOST TCP_PORT READY_FILE
Writes the HTTP port it listens on to READY_FILE once both listeners are up.
"""
import asyncio
import os
import ssl
import sys


async def pipe(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError, OSError):
        pass
    finally:
        try:
            writer.close()
        except (ConnectionError, OSError):
            pass


def relay_to(host, port):
    async def handle(reader, writer):
        try:
            up_r, up_w = await asyncio.open_connection(host, port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(pipe(reader, up_w), pipe(up_r, writer))

    return handle


async def main():
    cert, key, listen, http_port, up_http, up_host, tcp_port, ready = sys.argv[1:9]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    up_h, up_p = up_http.rsplit(":", 1)
    http = await asyncio.start_server(relay_to(up_h, int(up_p)), listen, int(http_port),
                                      ssl=ctx, reuse_address=True)
    await asyncio.start_server(relay_to(up_host, int(tcp_port)), listen, int(tcp_port),
                               ssl=ctx, reuse_address=True)
    port = http.sockets[0].getsockname()[1]
    with open(ready + ".tmp", "w") as f:
        f.write(str(port))
    os.rename(ready + ".tmp", ready)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
