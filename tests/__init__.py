"""The tests, laid out like the package: lang/, checks/, providers/, reporters/, facts/ mirror mlops_gate/; the
CLI, the run and end-to-end tests sit here; support/ holds servers, replay and fixtures (never a test)."""
