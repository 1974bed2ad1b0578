"""The HTML page: rendering, forms, URL state, the loss chart, SVG helpers, the page's refusals."""
