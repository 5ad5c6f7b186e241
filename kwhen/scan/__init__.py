"""`kwhen scan`: every non-merge commit of a history checked against its
first parent, as `kwhen check` would, spread over a Dask cluster (merges,
and commits that need no check, recorded as skipped with why).

    history.py   which commits a range holds, and which need no check
    checkout.py  a worker's private checkout, moved from commit to commit
    models.py    a worker's models per architecture, kept from one commit
                 to the next where the commit does not reach them
    engine.py    the one door into `kwhen check`'s engine
    worker.py    what runs on a Dask worker: one commit at a time
    driver.py    hands out runs of consecutive commits, writes the results
    progress.py  a rich progress bar, or plain lines when not on a terminal
    export.py    text, JSON, SARIF and HTML from the results database

The results go to a SQLite database of their own (`kwhen.sqldata.ScanStore`),
written by the driver alone.
"""
