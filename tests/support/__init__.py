"""What the tests share: loopback servers (replay, adversaries, MLflow, a registry, Prometheus), fixture trees,
git repositories and keys. Tests and benchmarks import from here, never from another test module."""
