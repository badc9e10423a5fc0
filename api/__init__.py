"""The JSON API at /api/v1/ (django-ninja): thin operations over the services and selectors the
pages use, personal access tokens, and errors as RFC 9457 problem details. See docs/architecture.md."""
