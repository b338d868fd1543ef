"""JSON API v1 on django-ninja: `main` is the one NinjaAPI (authentication, body limits, error
handlers), `schemas` what goes in and out, one module per resource (`achievements`, `results`,
`dashboards`) with plain `to_dict` functions and its endpoints, `errors` the one error shape,
`urls` the routes. This package imports nothing on its own, so importing `kpitrack.api.errors`
(as the middleware does) loads neither django-ninja nor the endpoints."""
