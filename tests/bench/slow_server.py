#!/usr/bin/env python3
"""An HTTP/1.1 server for the benchmark that answers every request with
204 after DELAY seconds, keeping connections alive; asyncio, in two
processes accepting on one listening socket, so that it is not the
bottleneck at a few thousand requests a second. Listens on 127.0.0.1 on
an ephemeral port written to PORT_FILE; SIGTERM stops both processes.
usage: slow_server.py DELAY PORT_FILE"""
import asyncio, os, signal, socket, sys

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


async def main(listener):
    server = await asyncio.start_server(serve, sock=listener)
    await server.serve_forever()


listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(1024)
child = os.fork()
if child:
    def stop(signum, frame):
        os.kill(child, signal.SIGTERM)
        os._exit(0)
    signal.signal(signal.SIGTERM, stop)
    with open(sys.argv[2] + ".tmp", "w") as f:
        f.write(str(listener.getsockname()[1]))
    os.rename(sys.argv[2] + ".tmp", sys.argv[2])
asyncio.run(main(listener))
