"""Modbus RTU frames in both roles, with hand-written bytes from the Modbus documents."""

from __future__ import annotations

import random

import pytest

from edge.drivers.framing import Frame, Garbage, ModbusRtuFramer, crc16_modbus, make_framer

# Slave 01 answers "read holding registers": 2 bytes, register value 0x000A, CRC 38 43.
READ_RESPONSE = bytes.fromhex("01 03 02 00 0A 38 43")
# Master asks slave 01 for 10 holding registers from 0.
READ_REQUEST = bytes.fromhex("01 03 00 00 00 0A C5 CD")
# Slave 11 echoes "write single register" 0001 = 0003.
WRITE_ECHO = bytes.fromhex("11 06 00 01 00 03 9A 9B")
# Slave 01 answers fc 03 with exception 02 (illegal data address).
EXCEPTION = bytes.fromhex("01 83 02 C0 F1")
# Master writes two registers (000A, 0102) from 0001 to slave 11.
WRITE_MULTIPLE = bytes.fromhex("11 10 00 01 00 02 04 00 0A 01 02 C6 F0")


def crc_bit_by_bit(data: bytes) -> int:
    """CRC-16/MODBUS straight from its definition, to check the table-driven one."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def test_crc_check_value_and_known_frames() -> None:
    assert crc16_modbus(b"123456789") == 0x4B37  # the catalogued check value
    assert crc16_modbus(b"") == 0xFFFF
    for frame in (READ_RESPONSE, READ_REQUEST, WRITE_ECHO, EXCEPTION, WRITE_MULTIPLE):
        assert crc16_modbus(frame[:-2]) == int.from_bytes(frame[-2:], "little")
        assert crc16_modbus(frame) == 0  # how frames are checked


def test_crc_table_agrees_with_the_definition() -> None:
    rng = random.Random(16)
    for size in range(0, 300, 7):
        data = rng.randbytes(size)
        assert crc16_modbus(data) == crc_bit_by_bit(data)


def test_master_parses_a_read_holding_registers_response() -> None:
    framer = ModbusRtuFramer()
    assert framer.feed(READ_RESPONSE) == [Frame(b"\x02\x00\x0a", 1, 3, READ_RESPONSE)]


def test_master_parses_write_echo_and_exception() -> None:
    framer = ModbusRtuFramer(role="master")
    assert framer.feed(WRITE_ECHO + EXCEPTION) == [
        Frame(b"\x00\x01\x00\x03", 0x11, 0x06, WRITE_ECHO),
        Frame(b"\x02", 0x01, 0x83, EXCEPTION),
    ]


def test_slave_parses_requests() -> None:
    framer = ModbusRtuFramer(role="slave")
    assert framer.feed(READ_REQUEST + WRITE_MULTIPLE) == [
        Frame(b"\x00\x00\x00\x0a", 1, 3, READ_REQUEST),
        Frame(bytes.fromhex("00 01 00 02 04 00 0A 01 02"), 0x11, 0x10, WRITE_MULTIPLE),
    ]


def test_encode_gives_the_hand_written_bytes() -> None:
    framer = ModbusRtuFramer()
    assert framer.encode(Frame(b"\x00\x00\x00\x0a", 1, 3)) == READ_REQUEST
    assert framer.encode(Frame(b"\x02\x00\x0a", 1, 3)) == READ_RESPONSE


def test_bad_crc_and_a_frame_hidden_behind_it() -> None:
    # 01 06 looks like an 8-byte write echo, then 06 01 like a read-coils answer: both fail
    # their CRC, and the real response two bytes in is still found.
    stream = b"\x01\x06" + READ_RESPONSE
    assert ModbusRtuFramer().feed(stream) == [
        Garbage(stream[0:8], "bad_crc"),
        Garbage(stream[1:9], "bad_crc"),
        Frame(b"\x02\x00\x0a", 1, 3, READ_RESPONSE),
    ]


def test_bytes_that_cannot_start_a_response_are_skipped_in_one_garbage() -> None:
    # 00 and F8-FF are no slave address; 07 and 00 are no function code a master parses.
    noise = b"\x00\xff\xf8\x01\x07\x00"
    assert ModbusRtuFramer().feed(noise + EXCEPTION) == [
        Garbage(noise, "no_start"),
        Frame(b"\x02", 1, 0x83, EXCEPTION),
    ]


def test_implausible_byte_counts_do_not_start_a_response() -> None:
    # Read registers with an odd byte count (01 03 03), or byte count 0 (03 03 00), are not
    # responses; 03 00 has no function code; 00 is no address.
    noise = b"\x01\x03\x03\x00\x00"
    out = ModbusRtuFramer().feed(noise + READ_RESPONSE)
    assert out == [Garbage(noise, "no_start"), Frame(b"\x02\x00\x0a", 1, 3, READ_RESPONSE)]


def test_inconsistent_write_multiple_does_not_start_a_request() -> None:
    # qty 2 registers but byte count 3: 11 10 is no request. (The bytes after it then look
    # like requests from the broadcast address, which their CRC rejects.)
    header = bytes.fromhex("11 10 00 01 00 02 03")
    out = ModbusRtuFramer(role="slave").feed(header + READ_REQUEST)
    assert out[0] == Garbage(b"\x11\x10", "no_start")
    assert out[-1] == Frame(b"\x00\x00\x00\x0a", 1, 3, READ_REQUEST)
    assert {i.reason for i in out[1:-1] if isinstance(i, Garbage)} == {"bad_crc"}
    assert [i for i in out if isinstance(i, Frame)] == out[-1:]


def test_broadcast_address_only_in_requests() -> None:
    broadcast = ModbusRtuFramer().encode(Frame(b"\x00\x01\x00\x03", 0, 6))
    assert ModbusRtuFramer(role="slave").feed(broadcast) == [
        Frame(b"\x00\x01\x00\x03", 0, 6, broadcast)
    ]
    master = ModbusRtuFramer(role="master")
    out = master.feed(broadcast) + master.flush()
    # 00 is no slave address; the tail 03 99 DA looks like the start of an exception reply.
    assert out == [Garbage(broadcast[:5], "no_start"), Garbage(broadcast[5:], "truncated")]


def test_one_byte_at_a_time_and_flush() -> None:
    framer = ModbusRtuFramer()
    out = []
    for byte in READ_RESPONSE + READ_RESPONSE[:4]:
        out += framer.feed(bytes((byte,)))
    assert out == [Frame(b"\x02\x00\x0a", 1, 3, READ_RESPONSE)]
    assert framer.buffered == 4
    assert framer.flush() == [Garbage(READ_RESPONSE[:4], "truncated")]


def test_noise_resembling_a_long_header_holds_the_response_until_flush() -> None:
    # A limitation of framing RTU without a clock (see the module docstring): the driver's
    # response timeout calls flush(), which hands the bytes back as garbage.
    framer = ModbusRtuFramer()
    assert framer.feed(b"\x05\x03\xfa" + READ_RESPONSE) == []
    assert framer.flush() == [Garbage(b"\x05\x03\xfa" + READ_RESPONSE, "truncated")]


def test_buffer_stays_bounded_on_endless_noise() -> None:
    noise = random.Random(485).randbytes(40_000)
    for role in ("master", "slave"):
        framer = ModbusRtuFramer(role=role)
        for at in range(0, len(noise), 61):
            framer.feed(noise[at : at + 61])
            assert framer.buffered <= 256


@pytest.mark.parametrize(
    ("frame", "needle"),
    [
        (Frame(b"", 248, 3), "address"),
        (Frame(b"", None, 3), "address"),
        (Frame(b"", 1, 0), "function code"),
        (Frame(b"", 1, None), "function code"),
        (Frame(bytes(253), 1, 3), "252"),
    ],
)
def test_encode_refuses_what_cannot_be_sent(frame: Frame, needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        ModbusRtuFramer().encode(frame)


def test_role_param() -> None:
    assert make_framer("modbus_rtu").role == "master"  # type: ignore[attr-defined]
    assert make_framer("modbus_rtu", role="slave").role == "slave"  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="'role'"):
        make_framer("modbus_rtu", role="client")
    with pytest.raises(ValueError, match="'role'"):
        ModbusRtuFramer(role="server")
