"""Reports: the terminal summary and the JSON report."""
