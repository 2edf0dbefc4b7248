"""The staff console under /console: server-rendered pages for case handlers and mediators,
signed in through Keycloak. `routes.install` adds it to the gateway; pages depend on
`session.ConsoleSessionDep` or `session.require_console_role(...)`. Kept free of imports here:
the edge middlewares read `cookies` without loading the rest."""
