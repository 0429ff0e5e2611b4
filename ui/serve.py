"""`make app`: serve app.py with its warm-up started as the server starts.

`streamlit run app.py` runs nothing of ours until the first browser connects, so the first
visitor's page waited for every import and for the engine's first worker (a deep link to the
Playground: Start enabled about 9 s after it was opened). Here the warm-up (ui.boot.warm_pages)
runs in a thread while the server starts, in the same process, so app.py and the pages find
it done. It also adds the live feed's route (ui.feed), so a training page updates in place
instead of rerunning.

    python -m ui.serve [streamlit run options, e.g. --server.port 8501]
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app.py"


def main() -> None:
    from ui import boot

    boot.import_unlocked()  # here, first: importing streamlit builds plotly objects
    from streamlit.web import cli

    from ui import feed

    feed.install()  # the live pages' in-place updates (ui.feed): a route of this server

    threading.Thread(target=boot.warm_pages, daemon=True, name="resviz-preload").start()

    sys.argv = ["streamlit", "run", str(APP), *sys.argv[1:]]
    cli.main(prog_name="streamlit")


if __name__ == "__main__":
    main()
