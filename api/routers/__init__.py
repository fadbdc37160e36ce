"""One router module per resource; `api.app.create_app` includes every module's `router`."""
