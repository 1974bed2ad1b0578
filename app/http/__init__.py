"""The HTTP edge: request and response schemas, errors to status codes, the control token, body limits."""
