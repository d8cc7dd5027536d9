"""Report: notebooks run with papermill into a run folder, the answer card, summary.json,
the sidecar each notebook writes, every decision rule (``decide``), and sweeps on Dask.

Named ``reporting`` rather than ``report``: ``f5lab.report`` is the public function that runs
a report, and a subpackage of that name would replace it as an attribute once imported."""
