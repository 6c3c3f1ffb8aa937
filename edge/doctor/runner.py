"""Every check, in the order an installer fixes things: config, disk, brokers, files, box."""

from __future__ import annotations

from edge.doctor.cloud import check_cloud
from edge.doctor.config import check_config
from edge.doctor.context import Context
from edge.doctor.files import check_certificates, check_face_key, check_keys
from edge.doctor.hall_broker import check_hall_broker
from edge.doctor.host import check_clock, check_installed, check_serial
from edge.doctor.http import check_http
from edge.doctor.result import Check
from edge.doctor.storage import check_disk, check_journal_folder


async def run_checks(ctx: Context) -> list[Check]:
    out = [check_config(ctx), check_journal_folder(ctx), check_disk(ctx)]
    out += await check_hall_broker(ctx)
    out += check_cloud(ctx)
    out += check_http(ctx)
    out += check_certificates(ctx)
    out += check_keys(ctx)
    out.append(check_clock(ctx))
    out += check_serial(ctx)
    out += check_installed(ctx)
    out += check_face_key(ctx)
    return out
