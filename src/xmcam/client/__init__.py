"""The client's sans-I/O half, shared by the asyncio and the blocking client.

Each camera method is a procedure here: a generator that yields the requests to make and turns the
replies into typed results (`models`). The shells in `xmcam.aio` and `xmcam.sync` only move bytes
for them. Nothing here opens a socket, starts a thread or reads a clock.
"""
