"""The check framework: what a check is, how checks run, the report and its formats, the
catalogue. It knows nothing of any check family (those live in ``slsops.checks``)."""
