from mlops_gate.cli import entry

entry()
