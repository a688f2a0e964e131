"""The e-mail channel keeps its SMTP connection between sends, and a connection the server closed meanwhile
costs no mail: the message goes out on a fresh one (same Message-ID)."""

from __future__ import annotations

import asyncio
from contextlib import suppress

from activities.notifications.channels import OutgoingMessage, SmtpChannel


def mail(n: int) -> OutgoingMessage:
    return OutgoingMessage(
        delivery_key=f"C-7/m{n}/email/a@example.com",
        complaint_id="C-7",
        recipient="a@example.com",
        subject=f"m{n}",
        text="hello",
    )


class Proxy:
    """A TCP relay in front of the SMTP sink that counts connections and can hang up on all of them."""

    def __init__(self, port: int) -> None:
        self.port, self.connections, self._writers = port, 0, []

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.port)
        self._writers += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with suppress(ConnectionError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def hang_up(self) -> None:
        for w in self._writers:
            w.close()
        self._writers = []

    def close(self) -> None:
        self.hang_up()
        self.server.close()


async def test_sends_share_one_connection_and_survive_a_server_that_hung_up(standins):
    proxy = Proxy(standins.smtp_port)
    channel = SmtpChannel("127.0.0.1", await proxy.start(), "Desk <desk@example.com>")
    try:
        ids = [await channel.send(mail(1)), await channel.send(mail(2))]
        assert proxy.connections == 1  # the second mail went on the first one's connection

        proxy.hang_up()  # as a server does with a connection idle too long
        await asyncio.sleep(0.1)
        ids.append(await channel.send(mail(3)))
        assert proxy.connections == 2
    finally:
        proxy.close()
    sink = await standins.sink("C-7", "email")
    assert [r["subject"] for r in sink] == ["m1", "m2", "m3"]  # each once
    assert len(set(ids)) == 3
