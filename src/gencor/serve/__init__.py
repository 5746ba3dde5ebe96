"""``gencor serve``: a local web page to deblur, smooth or sketch one photo at a time.

:func:`gencor.serve.app.create_app` builds the FastAPI application; the page itself (``static/``)
is plain HTML, CSS and JavaScript served by the application, with nothing fetched from elsewhere.
This package is the only one that imports FastAPI, so the rest of gencor runs without it.
"""
