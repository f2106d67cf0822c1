"""The what-if web page (``ipcsim serve``): change a scenario's inputs, run it, see the answer.

- :mod:`.whatif`: the page's inputs as bounded data, applied to a scenario's TOML tables;
- :mod:`.jobs`: runs in worker processes, with progress and cancel;
- :mod:`.answer`: the headline block (question, warnings, figures with exact values);
- :mod:`.app`: the Shiny app putting them together, one session per browser tab.
"""

from ipcsim.present.web.app import MAX_UPLOAD_BYTES, bounded_uploads, create_app
from ipcsim.present.web.jobs import JobRunner

__all__ = ["MAX_UPLOAD_BYTES", "JobRunner", "bounded_uploads", "create_app"]
