"""``shendu serve``: the local web page (Starlette + uvicorn, the optional ``shendu[web]`` extra).

- :mod:`shendu.web.app` — the application and its JSON API (``create_app``);
- :mod:`shendu.web.inference` — a run's network with forward hooks on its conv and pooling layers;
- :mod:`shendu.web.images` — pictures through the reader of ``shendu predict``;
- :mod:`shendu.web.runs` — the runs under ``runs/``; :mod:`shendu.web.lessons` — lessons rendered on demand;
- ``static/`` — the page: plain HTML, CSS and JavaScript modules, nothing fetched from elsewhere.

Importing this package imports nothing of Starlette; ``shendu.web.app`` does.
"""
