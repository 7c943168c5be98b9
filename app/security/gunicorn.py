"""Gunicorn's settings for Huella: ``gunicorn -c python:app.security.gunicorn 'app:create_app()'``.

Options given on the command line (``-w``, ``-b``, ``--access-logfile``) still apply.
"""

# The longest request line gunicorn reads (its maximum). Huella refuses addresses longer than
# max_url_length (4096 by default) itself, with a problem document; gunicorn's own answer to
# a longer line is an HTML page, so its limit must be the higher one.
limit_request_line = 8190
# Addresses in the access log lose their query values and the identifier a lookup names.
logger_class = "app.security.logs.RedactingLogger"
