"""One Excel workbook of a run, for readers who live in spreadsheets (``ipcsim run --xlsx``).

The sheets come from :func:`ipcsim.analysis.workbook.workbook_sheets`; this module writes
them, with openpyxl through pandas (a maintained writer; pandas reads the file back with it).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

__all__ = ["WORKBOOK_NAME", "write_workbook"]

WORKBOOK_NAME = "results.xlsx"
"""File name of the workbook in a run folder."""


def write_workbook(path: Path, sheets: Mapping[str, pd.DataFrame]) -> Path:
    """Write ``sheets`` to one ``.xlsx`` workbook at ``path`` (no index column).

    The same sheets always give the same bytes: openpyxl stamps the workbook and each zip
    entry with the time of writing, so those stamps are set to a fixed instant (1980-01-01,
    the zip format's earliest) after writing.
    """
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            frame.to_excel(writer, sheet_name=name, index=False)
    with (
        zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for entry in source.infolist():
            data = source.read(entry.filename)
            if entry.filename == "docProps/core.xml":
                data = _STAMP.sub(rb"\g<1>1980-01-01T00:00:00Z\g<2>", data)
            info = zipfile.ZipInfo(entry.filename, date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, data)
    return path


_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_STAMP = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")
