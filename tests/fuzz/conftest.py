import os


def pytest_addoption(parser):
    parser.addoption("--fuzz-long", action="store_true", help="run the graph fuzzer on 50,000 graphs")


def pytest_configure(config):
    # Read by tests/fuzz at import, which comes after this hook.
    if config.getoption("--fuzz-long", default=False):
        os.environ["SHENDU_FUZZ_LONG"] = "1"
