def pytest_configure(config):
    config.addinivalue_line("markers", "kind: live tests against a kind cluster (need kind, kubectl, docker)")
    config.addinivalue_line("markers", "k8s: offline checks of the Kubernetes manifests")
