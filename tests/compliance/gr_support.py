"""Helpers for the Global Relay tests: settings, a runner returning the zips, EML parsing."""

from __future__ import annotations

import email
import email.policy
import zipfile
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from mmgov.compliance.delivery import LocalDestination
from mmgov.compliance.export_window import ExportWindow
from mmgov.compliance.tasks import export_window_to_destination
from mmgov.settings import Settings

GR_ADDRESS = "archive@globalrelay.example.com"


def gr_settings(
    file_store: Path,
    *,
    batch_size: int = 10000,
    export_format: str = "globalrelay-zip",
    mmgov: dict[str, Any] | None = None,
    smtp_port: int | None = None,
    email_address: str = GR_ADDRESS,
) -> Settings:
    gr: dict[str, Any] = {"CustomerType": "CUSTOM", "EmailAddress": email_address}
    if smtp_port is not None:
        gr |= {"CustomSMTPServerName": "127.0.0.1", "CustomSMTPPort": str(smtp_port)}
    return Settings.parse(
        {
            "FileSettings": {"DriverName": "local", "Directory": str(file_store)},
            "MessageExportSettings": {
                "EnableExport": True,
                "ExportFormat": export_format,
                "BatchSize": batch_size,
                "GlobalRelaySettings": gr,
            },
            "Mmgov": mmgov or {},
        }
    )


def parse_eml(data: bytes) -> EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)  # type: ignore[return-value]


@dataclass
class GrOutput:
    summary: dict[str, Any]
    folder: Path

    @property
    def zips(self) -> list[Path]:
        return sorted(self.folder.glob("batch*.zip"))

    def entries(self, zip_path: Path | None = None) -> dict[str, bytes]:
        """Zip entries of one zip (or of every zip, in batch order) by name."""
        out: dict[str, bytes] = {}
        for z in [zip_path] if zip_path else self.zips:
            with zipfile.ZipFile(z) as zf:
                for name in zf.namelist():
                    out[name] = zf.read(name)
        return out

    def emls(self, zip_path: Path | None = None) -> dict[str, EmailMessage]:
        return {n: parse_eml(d) for n, d in self.entries(zip_path).items() if n.endswith(".eml")}


def run_gr(
    conn,
    file_store: Path,
    dest: Path,
    start: int,
    end: int,
    *,
    export_format: str = "globalrelay-zip",
    run_id: str = "t",
    **settings_kw: Any,
) -> GrOutput:
    window = ExportWindow(start, end)
    summary = export_window_to_destination(
        conn,
        window,
        gr_settings(file_store, export_format=export_format, **settings_kw),
        export_format=export_format,
        destination=LocalDestination(dest),
        run_id=run_id,
    )
    return GrOutput(summary, dest / window.folder_name)


def text_body(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None
    return part.get_content()


def html_body(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("html",))
    assert part is not None
    return part.get_content()


def attachments(msg: EmailMessage) -> list[tuple[str, str, bytes]]:
    """(filename, content type, decoded bytes) of every attachment part."""
    return [
        (p.get_filename(), p.get_content_type(), p.get_payload(decode=True)) for p in msg.iter_attachments()
    ]
