"""The presentation layer: it shows finished results and computes nothing of the model.

``format`` (numbers, money, durations), ``words`` (scenario differences in words),
``plots`` (matplotlib figures), ``templates/`` (jinja2 HTML and the report's CSS),
``ab_report`` (the leadership report of a finished comparison), ``sweep_study`` (a
finished sweep), ``render`` (papermill + nbconvert into one HTML file), ``widgets`` (the
what-if panel), ``terminal`` (KPI tables for the terminal).

Only ``funnelsim.cli``, ``funnelsim.commands`` and the notebooks import this package;
nothing below it does. Import the module you need (this file imports none, so the
terminal tables do not pay for matplotlib).
"""
