"""The shape of a device model profile (`firmware-configs/<model>.yaml`) as frozen structs.

A profile is data: the transport and its settings, the framer, which named converter turns
which frame (or MQTT message) into which event, the commands the model accepts, how it is
polled, and how hot-plug recognises it. `profiles.py` reads and cross-checks these; the
meaning of every key is documented for installers in docs/devices.md.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from edge.config.hub import Section

Kind = Literal[
    "generic",
    "counter_caller",
    "rating_pad",
    "ticket_machine",
    "call_display",
    "invoice_printer",
    "guide_robot",
    "payment_kiosk",
    "feedback_machine",
    "eform_desk",
    "face_camera",
]
KINDS: tuple[str, ...] = Kind.__args__  # type: ignore[attr-defined]

ValueType = Literal["str", "int", "float", "bool", "list", "dict", "any"]


class SerialLink(Section, frozen=True, kw_only=True, tag="serial", tag_field="type"):
    """A serial line (RS-232, RS-485, USB-serial) and its port parameters."""

    baudrate: int = 9600
    bytesize: Literal[5, 6, 7, 8] = 8
    parity: Literal["N", "E", "O", "M", "S"] = "N"
    stopbits: Literal[1, 2] = 1
    rtscts: bool = False
    xonxoff: bool = False
    # RS-485 multi-drop: several devices (each with its own `address`) share one port.
    multidrop: bool = False
    # Seconds between attempts to open a port that is missing, busy or failed.
    retry_s: float = 2.0


class MqttLink(Section, frozen=True, kw_only=True, tag="mqtt", tag_field="type"):
    """A device on the hall broker: `generic` follows hall/devices/{id}/..., `vendor` is mapped."""

    convention: Literal["generic", "vendor"] = "vendor"


Transport = SerialLink | MqttLink


class FramerSpec(Section, frozen=True, kw_only=True):
    name: str
    params: dict[str, Any] = msgspec.field(default_factory=dict)


class FrameMatch(Section, frozen=True, kw_only=True):
    """Which frames a rule applies to; every given key must match."""

    command: int | None = None
    address: int | None = None
    # The payload starts with these bytes: text (in the profile's encoding) or hex.
    prefix: str | None = None
    prefix_hex: str | None = None
    min_length: int | None = None


class Recall(Section, frozen=True, kw_only=True):
    """Merge arguments of the last command `command` sent to this device into the event."""

    command: str
    fields: list[str]
    # Forget them once used, so a second rating is not credited to the same service.
    consume: bool = True
    # Arguments older than this are not merged (the customer walked away).
    max_age_s: float = 600.0


class FrameRule(Section, frozen=True, kw_only=True):
    converter: str
    when: FrameMatch = msgspec.field(default_factory=FrameMatch)
    params: dict[str, Any] = msgspec.field(default_factory=dict)
    # Acknowledge the frame after the journal commit (per the profile's `ack`).
    ack: bool = True
    recall: Recall | None = None


class AckSpec(Section, frozen=True, kw_only=True):
    encoder: str = "echo"
    params: dict[str, Any] = msgspec.field(default_factory=dict)
    # A frame repeated within this window is the device resending for want of an ack:
    # acknowledged again, journaled once. 0 turns this off.
    dedupe_window_s: float = 5.0


class ArgSpec(Section, frozen=True, kw_only=True):
    """One argument of a command, checked before anything is sent (a 400 names it)."""

    type: ValueType = "str"
    required: bool = True
    # A default; for text a template over the other arguments: "请{ticket_no}号到{counter}号窗口".
    default: Any = None
    choices: list[Any] | None = None
    min: float | None = None
    max: float | None = None
    max_length: int | None = None
    doc: str = ""


class ReplySpec(Section, frozen=True, kw_only=True):
    """The frame a serial device answers a command with."""

    when: FrameMatch = msgspec.field(default_factory=FrameMatch)
    error_when: FrameMatch | None = None
    timeout_s: float = 2.0


class CommandSpec(Section, frozen=True, kw_only=True):
    doc: str = ""
    args: dict[str, ArgSpec] = msgspec.field(default_factory=dict)
    # Arguments the profile does not list: refused with a 400, or dropped (for commands
    # another part of the hub sends with more than this model needs).
    extra_args: Literal["reject", "ignore"] = "reject"
    # Serial devices: a named command encoder and its parameters, and the awaited reply.
    encoder: str | None = None
    params: dict[str, Any] = msgspec.field(default_factory=dict)
    reply: ReplySpec | None = None
    # Vendor MQTT devices: the topic and a JSON template ("{arg}" placeholders).
    topic: str | None = None
    payload: Any = None


class PollSpec(Section, frozen=True, kw_only=True):
    interval_s: float
    encoder: str
    params: dict[str, Any] = msgspec.field(default_factory=dict)
    # The answer expected; a poll answer may also carry an event (per `frames`).
    reply: FrameMatch | None = None
    timeout_s: float = 0.5
    # This many unanswered polls in a row: the device is offline.
    offline_after: int = 3


class UsbIds(Section, frozen=True, kw_only=True):
    vendor_id: str
    product_id: str | None = None


class ProbeSpec(Section, frozen=True, kw_only=True):
    """An exchange that tells this model apart on a port whose USB ids are not unique."""

    encoder: str
    expect: FrameMatch
    params: dict[str, Any] = msgspec.field(default_factory=dict)
    timeout_s: float = 0.5


class MatchSpec(Section, frozen=True, kw_only=True):
    usb: list[UsbIds] = msgspec.field(default_factory=list)
    # Glob patterns on the names in /dev/serial/by-id, e.g. "usb-FTDI_*RS485*".
    by_id: list[str] = msgspec.field(default_factory=list)
    probe: ProbeSpec | None = None


class SettingSpec(Section, frozen=True, kw_only=True):
    """A device setting this model needs in hall.toml ([[devices]] settings)."""

    type: Literal["str", "int", "float", "bool"] = "str"
    required: bool = False
    default: Any = None
    choices: list[Any] | None = None
    min: float | None = None
    max: float | None = None
    doc: str = ""


class FieldSpec(Section, frozen=True, kw_only=True):
    """One event field taken from a vendor JSON message."""

    path: str
    type: ValueType = "any"
    required: bool = True
    default: Any = None
    # Numbers are multiplied (yuan to cents: 100) and rounded when `type` is int.
    scale: float | None = None
    # Vendor value -> catalogue value; keys are compared as text (quote codes like "01").
    map: dict[Any, Any] | None = None
    # Keep only the last 4 characters (account numbers, phone numbers, e-mail).
    mask: bool = False


class TimeSpec(Section, frozen=True, kw_only=True):
    path: str
    format: str = "rfc3339"  # rfc3339 | epoch_s | epoch_ms | a strptime pattern
    timezone: str = "Asia/Shanghai"  # for strptime patterns without an offset


class MessageRule(Section, frozen=True, kw_only=True):
    """A vendor MQTT message mapped to an event."""

    topic: str
    event: str
    # Only messages whose JSON has these values at these paths.
    when: dict[str, Any] = msgspec.field(default_factory=dict)
    fields: dict[str, str | FieldSpec] = msgspec.field(default_factory=dict)
    constants: dict[str, Any] = msgspec.field(default_factory=dict)
    id: str | None = None
    time: TimeSpec | None = None


class ReplyRule(Section, frozen=True, kw_only=True):
    """A vendor MQTT answer mapped to a command reply."""

    topic: str
    cmd_id: str
    code: str | FieldSpec | None = None
    msg: str | None = None
    data: dict[str, str | FieldSpec] = msgspec.field(default_factory=dict)


class AvailabilityRule(Section, frozen=True, kw_only=True):
    """A vendor's own online/offline topic (retained or last will)."""

    topic: str
    path: str | None = None  # None: the whole payload
    online: list[Any] = msgspec.field(default_factory=lambda: ["online", 1, True, "1"])


class PrinterSpec(Section, frozen=True, kw_only=True):
    """ESC/POS printers: real-time status polling (the invoice layout is the encoder's params)."""

    poll_interval_s: float = 2.0
    reply_timeout_s: float = 0.5
    # This many status polls without an answer in a row: the printer is offline.
    offline_after: int = 3


class FaceSnapshotSpec(Section, frozen=True, kw_only=True):
    """Where a face camera's JPEG frames come from (read by edge.faces, not by a driver)."""

    source: Literal["mqtt", "http"]
    # mqtt: the topic the camera publishes each JPEG to ({device_id} and settings allowed).
    topic: str | None = None
    payload: Literal["jpeg"] = "jpeg"
    max_bytes: int = 4_000_000
    # http: the device setting that holds the snapshot URL the hub fetches.
    url_setting: str | None = None


class FaceCameraSpec(Section, frozen=True, kw_only=True):
    """`kind: face_camera` profiles: declared here, interpreted by the face pipeline."""

    snapshot: FaceSnapshotSpec


class Profile(Section, frozen=True, kw_only=True):
    vendor: str
    model: str
    kind: Kind
    transport: Transport
    description: str = ""
    # Text encoding of the model (Chinese: GB18030 by default; some want GBK or UTF-8).
    encoding: str = "gb18030"
    framer: FramerSpec | None = None
    frames: list[FrameRule] = msgspec.field(default_factory=list)
    ack: AckSpec | None = None
    poll: PollSpec | None = None
    commands: dict[str, CommandSpec] = msgspec.field(default_factory=dict)
    messages: list[MessageRule] = msgspec.field(default_factory=list)
    replies: list[ReplyRule] = msgspec.field(default_factory=list)
    availability: AvailabilityRule | None = None
    match: MatchSpec | None = None
    settings: dict[str, SettingSpec] = msgspec.field(default_factory=dict)
    printer: PrinterSpec | None = None
    face_camera: FaceCameraSpec | None = None
    # Filled by the loader: the profile's name (file stem) and where it was read from.
    id: str = ""
    source: str = ""

    @property
    def serial(self) -> SerialLink | None:
        """The serial line section, or None for an MQTT device."""
        return self.transport if isinstance(self.transport, SerialLink) else None
