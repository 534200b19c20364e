"""The Manager's aiohttp application: routes, middlewares, handlers."""
