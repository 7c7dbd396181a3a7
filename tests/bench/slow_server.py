#!/usr/bin/env python3
"""An HTTP/1.1 server for the benchmark that answers every request with
204 after DELAY seconds, keeping connections alive; asyncio, so that it
is not the bottleneck at a few thousand requests a second. Listens on
127.0.0.1 on an ephemeral port written to PORT_FILE.
usage: slow_server.py DELAY PORT_FILE"""
import asyncio, os, sys

delay = float(sys.argv[1])


async def serve(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if length:
                await reader.readexactly(length)
            await asyncio.sleep(delay)
            writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", 0, backlog=1024)
    with open(sys.argv[2] + ".tmp", "w") as f:
        f.write(str(server.sockets[0].getsockname()[1]))
    os.rename(sys.argv[2] + ".tmp", sys.argv[2])
    await server.serve_forever()

asyncio.run(main())
