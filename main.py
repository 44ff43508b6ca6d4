"""`uv run main.py` starts the API, as the original FastWrap did; same as `fastwrap serve`."""

from fastwrap.entrypoints.cli.app import app

if __name__ == "__main__":
    app(["serve"])
