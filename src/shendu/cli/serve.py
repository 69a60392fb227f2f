"""``shendu serve [RUN]``: a local web page to draw a digit and watch the network think.

The page has three parts: 画数字 (draw a digit: what the network sees, its probabilities, every
conv and pooling layer's feature maps, the first-layer kernels), 课程 (every lesson with its
text and figures, Chinese or English) and 训练 (the runs under runs/, live while training).
"""

from __future__ import annotations

import argparse
import ipaddress
import sys

EXAMPLES = """\
examples:
  shendu serve                        # the newest run of 'shendu train' under runs/
  shendu serve runs/lenet-mnist-5k    # a given run
  shendu serve --port 8080

Then open the printed address in a browser. The server listens on 127.0.0.1 (this computer
only) unless --host says otherwise. Stop it with Ctrl-C. Needs the web extra:
  pip install 'shendu[web]'
"""
LOOPBACK_NAMES = ["127.0.0.1", "localhost", "::1", "[::1]"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="a local web page: draw a digit and see the network's feature maps; lessons; runs",
        description="Start a local web page to draw digits for a trained network and watch every layer, "
        "read the lessons and follow training runs.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "run", nargs="?", metavar="RUN", help="a run folder of 'shendu train' (default: the newest)"
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=_port, default=8000, help="port to listen on (default: 8000)")
    p.add_argument(
        "--runs-dir", default="runs", metavar="DIR", help="folder of the runs to list (default: runs)"
    )
    p.set_defaults(func=run)


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is between 1 and 65535, got {value}")
    return value


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from shendu.web.app import NO_RUN_HINT, create_app
    except ImportError as err:
        print(
            f"error: shendu serve needs the web extra ({err.name} is missing): pip install 'shendu[web]'",
            file=sys.stderr,
        )
        return 1
    from shendu.training.rundir import RunError

    local = _is_loopback(args.host)
    try:
        app = create_app(
            args.run, runs_dir=args.runs_dir, allowed_hosts=LOOPBACK_NAMES + [args.host] if local else None
        )
    except RunError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    server = app.state.server
    if server.default_run is None:
        print(NO_RUN_HINT.format(root=args.runs_dir), file=sys.stderr)
        print("(the lessons and runs pages work without one)\n", file=sys.stderr)
    else:
        print(f"drawing with run {server.default_run!r} ({server.index.path(server.default_run)})")
    if not local:
        print(
            f"warning: --host {args.host} makes the page reachable from other computers on the network; "
            "anyone who can reach it can use it (there is no login). Use 127.0.0.1 unless you mean it.",
            file=sys.stderr,
        )
    shown = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    shown = f"[{shown}]" if ":" in shown and not shown.startswith("[") else shown
    print(f"shendu serve: open http://{shown}:{args.port}/ in a browser (Ctrl-C stops it)", flush=True)
    _one_blas_thread()
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    uvicorn.Server(config).run()
    return 0


def _one_blas_thread() -> None:
    """Each request runs in its own thread; BLAS threads on top of them would fight for the cores."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - installed with scikit-learn
        return
    threadpool_limits(limits=1, user_api="blas")
