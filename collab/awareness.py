"""The server's copy of a room's awareness: relayed, never persisted (SPEC §5.5)."""

from __future__ import annotations

from collab.protocol import DecodeError, Decoder, loads_json, var_string, var_uint

MAX_STATE_BYTES = 16 * 1024


def decode_update(update: bytes) -> list[tuple[int, int, str]]:
    """(client id, clock, JSON state) triples of an awareness update."""
    decoder = Decoder(update)
    entries = [(decoder.var_uint(), decoder.var_uint(), decoder.var_string()) for _ in range(decoder.var_uint())]
    if not decoder.done:
        raise DecodeError("trailing bytes after awareness update")
    return entries


def encode_update(entries: list[tuple[int, int, str]]) -> bytes:
    """An awareness update from triples."""
    body = b"".join(var_uint(client) + var_uint(clock) + var_string(state) for client, clock, state in entries)
    return var_uint(len(entries)) + body


class RoomAwareness:
    """Latest awareness entry of every client id, and which connection controls it."""

    def __init__(self) -> None:
        self.entries: dict[int, tuple[int, str]] = {}
        self.owners: dict[int, object] = {}

    def apply(self, update: bytes, owner: object) -> bytes | None:
        """Record an incoming update; returns the update to relay (oversized states dropped) or None.

        Every state is checked before any is recorded: an update holding one that is not strict JSON
        within SPEC §9's nesting limit raises ValueError (DecodeError for bad framing) and changes nothing.
        """
        entries = []
        for client, clock, state in decode_update(update):
            if len(state.encode("utf-8")) > MAX_STATE_BYTES:
                continue
            loads_json(state)  # strict JSON nested at most 32 levels; ValueError otherwise
            entries.append((client, clock, state))
        kept = []
        for client, clock, state in entries:
            current = self.entries.get(client)
            # Providers echo what they receive: an equal clock is no news unless it removes the state.
            if current is not None and (clock < current[0] or (clock == current[0] and state != "null")):
                continue
            if state == "null":
                self.entries.pop(client, None)
                self.owners.pop(client, None)
            else:
                self.entries[client] = (clock, state)
                self.owners[client] = owner
            kept.append((client, clock, state))
        return encode_update(kept) if kept else None

    def full_update(self, *, skip_owner: object = None) -> bytes | None:
        """Every known state (except those of `skip_owner`), for a newcomer or a QueryAwareness."""
        entries = [
            (client, clock, state)
            for client, (clock, state) in self.entries.items()
            if skip_owner is None or self.owners.get(client) is not skip_owner
        ]
        return encode_update(entries) if entries else None

    def remove_owner(self, owner: object) -> bytes | None:
        """Drop the states a closing connection controlled; returns the removal update to broadcast."""
        gone = [client for client, holder in self.owners.items() if holder is owner]
        removal = []
        for client in gone:
            clock, _ = self.entries.pop(client, (0, "null"))
            self.owners.pop(client, None)
            removal.append((client, clock + 1, "null"))
        return encode_update(removal) if removal else None
